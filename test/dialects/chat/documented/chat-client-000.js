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

    sendMultipleFiles(files, receiverId, messageType = 'image') {
        const filesData = [];
        
        for (let i = 0; i < files.length; i++) {
            const file = files[i];
            const reader = new FileReader();
            
            reader.onload = (e) => {
                filesData.push({
                    file_data: e.target.result.split(',')[1], // Remove data:image/jpeg;base64, prefix
                    file_name: file.name,
                    file_size: file.size,
                    mime_type: file.type
                });

                // Send message when all files are processed
                if (filesData.length === files.length) {
                    const message = {
                        type: 'send_message',
                        data: {
                            room_id: this.roomId,
                            receiver_id: receiverId,
                            message_type: messageType,
                            content: `Sent ${files.length} files`,
                            files_data: filesData
                        }
                    };
                    this.ws.send(JSON.stringify(message));
                }
            };
            
            reader.readAsDataURL(file);
        }
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
