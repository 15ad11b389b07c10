import { render } from 'preact';
import { App } from './components/App.js';
import './styles.css';
import './threads.css';

render(<App />, document.getElementById('app')!);
