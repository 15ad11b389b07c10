import React, { useState, useEffect, useRef } from 'react';

const ChatRoom = ({ roomId, token, receiverId }) => {
    const [messages, setMessages] = useState([]);
    const [newMessage, setNewMessage] = useState('');
    const [isTyping, setIsTyping] = useState(false);
    const [selectedFiles, setSelectedFiles] = useState([]);
    const wsRef = useRef(null);

    useEffect(() => {
        // Initialize WebSocket connection
        wsRef.current = new WebSocket(`ws://localhost:8000/api/chat/ws?token=${token}&room_id=${roomId}`);
        
        wsRef.current.onmessage = (event) => {
            const data = JSON.parse(event.data);
            handleWebSocketMessage(data);
        };

        return () => {
            wsRef.current?.close();
        };
    }, [roomId, token]);

    const handleWebSocketMessage = (data) => {
        switch(data.type) {
            case 'new_message':
                setMessages(prev => [...prev, data.data]);
                break;
            case 'typing':
                setIsTyping(data.data.is_typing);
                break;
        }
    };

    const sendMessage = () => {
        if (newMessage.trim()) {
            wsRef.current.send(JSON.stringify({
                type: 'send_message',
                data: {
                    room_id: roomId,
                    receiver_id: receiverId,
                    message_type: 'text',
                    content: newMessage
                }
            }));
            setNewMessage('');
        }
    };

    const sendMultipleFiles = async () => {
        if (selectedFiles.length === 0) return;

        try {
            const files = await uploadMultipleFiles(selectedFiles, 'image');
            
            wsRef.current.send(JSON.stringify({
                type: 'send_message',
                data: {
                    room_id: roomId,
                    receiver_id: receiverId,
                    message_type: 'image',
                    content: `Sent ${files.length} files`,
                    files_data: files.map(file => ({
                        file_data: file.file_path, // This would need to be base64 encoded
                        file_name: file.file_name,
                        file_size: file.file_size,
                        mime_type: file.mime_type
                    }))
                }
            }));
            
            setSelectedFiles([]);
        } catch (error) {
            console.error('Failed to send files:', error);
        }
    };

    const handleFileSelect = (event) => {
        const files = Array.from(event.target.files);
        setSelectedFiles(prev => [...prev, ...files]);
    };

    return (
        <div className="chat-room">
            <div className="messages">
                {messages.map(message => (
                    <div key={message.id} className={`message ${message.is_sender ? 'sent' : 'received'}`}>
                        <div className="message-content">
                            {message.content && <p>{message.content}</p>}
                            
                            {/* Single file display */}
                            {message.file_path && (
                                <div className="file-attachment">
                                    <a href={message.file_path} target="_blank" rel="noopener noreferrer">
                                        {message.file_name}
                                    </a>
                                </div>
                            )}
                            
                            {/* Multiple files display */}
                            {message.files_data && message.files_data.length > 0 && (
                                <div className="multiple-files">
                                    {message.files_data.map((file, index) => (
                                        <div key={index} className="file-attachment">
                                            <a href={file.file_path} target="_blank" rel="noopener noreferrer">
                                                {file.file_name}
                                            </a>
                                        </div>
                                    ))}
                                </div>
                            )}
                        </div>
                        <div className="message-meta">
                            <span className="sender">{message.sender_details?.name}</span>
                            <span className="timestamp">{new Date(message.created_at).toLocaleTimeString()}</span>
                        </div>
                    </div>
                ))}
                
                {isTyping && (
                    <div className="typing-indicator">
                        <span>Someone is typing...</span>
                    </div>
                )}
            </div>
            
            <div className="message-input">
                <input
                    type="text"
                    value={newMessage}
                    onChange={(e) => setNewMessage(e.target.value)}
                    onKeyPress={(e) => e.key === 'Enter' && sendMessage()}
                    placeholder="Type a message..."
                />
                
                <input
                    type="file"
                    multiple
                    accept="image/*,.pdf,.doc,.docx,.txt,.zip,.rar"
                    onChange={handleFileSelect}
                />
                
                {selectedFiles.length > 0 && (
                    <div className="selected-files">
                        <p>Selected files: {selectedFiles.length}</p>
                        <button onClick={sendMultipleFiles}>Send Files</button>
                        <button onClick={() => setSelectedFiles([])}>Clear</button>
                    </div>
                )}
                
                <button onClick={sendMessage}>Send</button>
            </div>
        </div>
    );
};

export default ChatRoom;
