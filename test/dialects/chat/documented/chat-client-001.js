class ChatClient {
    constructor(token, roomId) {
        this.token = token;
        this.roomId = roomId;
        this.ws = null;
        this.connect();
    }

    connect() {
        this.ws = new WebSocket(`ws://localhost:8000/api/chat/ws?token=${this.token}&room_id=${this.roomId}`);
        
        this.ws.onopen = () => {
            console.log('Connected to chat');
        };

        this.ws.onmessage = (event) => {
            const data = JSON.parse(event.data);
            this.handleMessage(data);
        };

        this.ws.onclose = () => {
            console.log('Disconnected from chat');
            // Reconnect logic here
        };
    }

    handleMessage(data) {
        switch(data.type) {
            case 'new_message':
                this.displayMessage(data.data);
                break;
            case 'typing':
                this.showTypingIndicator(data.data);
                break;
            case 'presence':
                this.updateUserPresence(data.data);
                break;
            case 'error':
                this.showError(data.message);
                break;
        }
    }

    sendTextMessage(content, receiverId) {
        const message = {
            type: 'send_message',
            data: {
                room_id: this.roomId,
                receiver_id: receiverId,
                message_type: 'text',
                content: content
            }
        };
        this.ws.send(JSON.stringify(message));
    }

    sendFiles(files, receiverId, messageType = 'image', content = '', localTempId = null) {
        // Send single or multiple files - all files in files_data array
        const filesData = [];
        let processedCount = 0;
        
        if (files.length === 0) return;
        
        files.forEach((file, index) => {
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
                
                // Send message when all files are processed
                if (processedCount === files.length) {
                    const message = {
                        type: 'send_message',
                        data: {
                            room_id: this.roomId,
                            receiver_id: receiverId,
                            message_type: messageType,
                            content: content || `Sent ${files.length} file${files.length > 1 ? 's' : ''}`,
                            local_temp_id: localTempId,
                            files_data: filesData
                        }
                    };
                    this.ws.send(JSON.stringify(message));
                }
            };
            
            reader.onerror = () => {
                console.error('Error reading file:', file.name);
            };
            
            reader.readAsDataURL(file);
        });
    }

    sendTypingIndicator(isTyping) {
        const message = {
            type: 'typing',
            data: {
                room_id: this.roomId,
                is_typing: isTyping
            }
        };
        this.ws.send(JSON.stringify(message));
    }
}
