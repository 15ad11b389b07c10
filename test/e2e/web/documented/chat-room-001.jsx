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

    const sendFiles = () => {
        if (selectedFiles.length === 0) return;

        // Convert files to base64 and send via WebSocket
        // All files must be in files_data array (single or multiple)
        const filesData = [];
        let processedCount = 0;
        const localTempId = `temp_${Date.now()}`; // Generate temp ID for client-side matching

        selectedFiles.forEach((file, index) => {
            const reader = new FileReader();
            reader.onload = (e) => {
                // Remove data:image/jpeg;base64, prefix if present
                const base64Data = e.target.result.includes(',') 
                    ? e.target.result.split(',')[1] 
                    : e.target.result;
                
                filesData[index] = {
                    file_data: base64Data,
                    file_name: file.name,
                    file_size: file.size,
                    mime_type: file.type
                };
                processedCount++;

                // Send when all files are processed
                if (processedCount === selectedFiles.length) {
                    // Determine message type based on first file
                    const messageType = file.type.startsWith('image/') ? 'image' 
                        : file.type.startsWith('audio/') ? 'voice' 
                        : 'file';
                    
                    wsRef.current.send(JSON.stringify({
                        type: 'send_message',
                        data: {
                            room_id: roomId,
                            receiver_id: receiverId,
                            message_type: messageType,
                            content: `Sent ${selectedFiles.length} file${selectedFiles.length > 1 ? 's' : ''}`,
                            local_temp_id: localTempId,
                            files_data: filesData
                        }
                    }));
                    
                    setSelectedFiles([]);
                }
            };
            
            reader.onerror = () => {
                console.error('Error reading file:', file.name);
            };
            
            reader.readAsDataURL(file);
        });
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
                            
                            {/* Files display - all files in files_data array */}
                            {message.files_data && message.files_data.length > 0 && (
                                <div className="files-container">
                                    {message.files_data.map((file, index) => (
                                        <div key={index} className="file-attachment">
                                            {file.mime_type?.startsWith('image/') ? (
                                                <img 
                                                    src={file.file_path} 
                                                    alt={file.file_name}
                                                    style={{ maxWidth: '200px', maxHeight: '200px' }}
                                                />
                                            ) : (
                                                <a href={file.file_path} target="_blank" rel="noopener noreferrer">
                                                    ðŸ“Ž {file.file_name} ({(file.file_size / 1024).toFixed(2)} KB)
                                                </a>
                                            )}
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
                        <button onClick={sendFiles}>Send Files</button>
                        <button onClick={() => setSelectedFiles([])}>Clear</button>
                    </div>
                )}
                
                <button onClick={sendMessage}>Send</button>
            </div>
        </div>
    );
};

export default ChatRoom;
