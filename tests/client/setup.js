// The environment order-flow.test.js runs in: a deployed Agora API and an admin-authorised caller.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

// The test registers this fixed address, so it must not exist before the run.
const TEST_EMAIL = 'john@example.com';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests with 'python -m tools.dev.client' or set it yourself`);
  }
  return value;
}

async function call(url, options = {}) {
  // fetch only says 'fetch failed'; name the URL and the reason so an unreachable API is obvious.
  const response = await fetch(url, options).catch((err) => {
    throw new Error(`${url}: ${err.cause ? err.cause.message : err.message}`);
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${options.method || 'GET'} ${url} answered ${response.status}: ${text}`);
  }
  return text ? JSON.parse(text) : {};
}

async function adminToken(api) {
  const { email, password } = JSON.parse(fs.readFileSync(required('AGORA_ADMIN_FILE'), 'utf8'));
  const body = await call(`${api}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return body.token;
}

async function removeTestUser(api, token) {
  const headers = { authorization: `Bearer ${token}` };
  // The email filter matches substrings: take a full page and keep only the exact address.
  const query = new URLSearchParams({ email: TEST_EMAIL, limit: '100' });
  const { users } = await call(`${api}/api/users?${query}`, { headers });
  for (const user of users.filter((u) => u.email === TEST_EMAIL)) {
    await call(`${api}/api/users/${encodeURIComponent(user.id)}`, { method: 'DELETE', headers });
    console.log(`setup: deleted ${TEST_EMAIL} (${user.id}) left over from an earlier run`);
  }
}

// Stands in for the tutorial's payment service on its internal network: every request goes to
// the API with the admin's token, which PUT /api/payments/{id}/confirm accepts.
function startProxy(api, token) {
  const target = new URL(api);
  const client = target.protocol === 'https:' ? https : http;
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers, host: target.host, authorization: `Bearer ${token}` };
    const upstream = client.request(`${api}${req.url}`, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    // A failed upstream call should fail the test with a reason, not hang it.
    upstream.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(upstream);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function setupTestEnvironment() {
  // supertest appends each path to the base URL, so drop a trailing slash.
  const api = required('AGORA_API_URL').replace(/\/+$/, '');
  const token = await adminToken(api);
  await removeTestUser(api, token);
  const proxy = await startProxy(api, token);
  const { port } = proxy.address();
  return { apiGateway: api, paymentService: `http://127.0.0.1:${port}`, proxy };
}

async function teardownTestEnvironment(testEnv) {
  // afterAll runs even when setup failed, and then there is nothing to close.
  if (!testEnv || !testEnv.proxy) return;
  // Idle keep-alive sockets would hold close() open until they time out.
  testEnv.proxy.closeAllConnections();
  await new Promise((resolve) => testEnv.proxy.close(resolve));
}

module.exports = { setupTestEnvironment, teardownTestEnvironment };
