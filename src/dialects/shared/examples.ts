// The people and accounts of every example in /docs and /docs/asyncapi.json (John and Jane,
// as the documents name them), so Parley's API and the accounts contract tell one story.

export const TENANT_ID = '0192f7a0-0000-7000-8000-000000000001';
export const TOKEN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…';
export const JOHN = { id: 1, uuid: '0192f7a0-6c1e-7cc4-9a57-5c7e3b1d2a01', name: 'John Doe', email: 'john@example.com', avatar_url: 'https://example.com/avatar.jpg' };
export const JANE = { id: 2, uuid: '0192f7a0-6c1e-7cc4-9a57-5c7e3b1d2a02', name: 'Jane Smith', email: 'jane@example.com', avatar_url: null };

export const INVITE = {
  id: '0192f7a2-0000-7000-8000-0000000000aa',
  tenant_id: TENANT_ID,
  email: 'jane@example.com',
  status: 'active',
  created_at: '2024-01-01T12:00:00.000Z',
  expires_at: '2024-01-08T12:00:00.000Z',
  used_at: null,
  used_by: null,
  revoked_at: null,
};
