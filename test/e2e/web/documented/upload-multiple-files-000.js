async function uploadMultipleFiles(files, messageType) {
    const formData = new FormData();
    
    for (let file of files) {
        formData.append('files', file);
    }
    formData.append('message_type', messageType);

    try {
        const response = await fetch('/api/chat/upload-files', {
            method: 'POST',
            headers: {
                'Authorization': `Bearer ${getAuthToken()}`
            },
            body: formData
        });

        const result = await response.json();
        
        if (response.ok) {
            console.log('Files uploaded:', result);
            return result.files;
        } else {
            throw new Error(result.detail || 'Upload failed');
        }
    } catch (error) {
        console.error('Upload error:', error);
        throw error;
    }
}
