// tests/integration/order-flow.test.js
const request = require('supertest');
const { setupTestEnvironment, teardownTestEnvironment } = require('./setup');

describe('Order Flow Integration Tests', () => {
  let testEnv;

  beforeAll(async () => {
    testEnv = await setupTestEnvironment();
  });

  afterAll(async () => {
    await teardownTestEnvironment(testEnv);
  });

  test('complete order flow', async () => {
    // 1. Create user
    const userResponse = await request(testEnv.apiGateway)
      .post('/api/auth/register')
      .send({
        firstName: 'John',
        lastName: 'Doe',
        email: 'john@example.com',
        password: 'password123'
      })
      .expect(201);

    const { token, user } = userResponse.body;

    // 2. Get products
    const productsResponse = await request(testEnv.apiGateway)
      .get('/api/products')
      .set('Authorization', `Bearer ${token}`)
      .expect(200);

    const product = productsResponse.body.data[0];

    // 3. Create order
    const orderResponse = await request(testEnv.apiGateway)
      .post('/api/orders')
      .set('Authorization', `Bearer ${token}`)
      .send({
        user_id: user.id,
        items: [{
          product_id: product.id,
          quantity: 2
        }],
        shipping_address: {
          street: '123 Main St',
          city: 'New York',
          state: 'NY',
          postal_code: '10001',
          country: 'US'
        },
        customer_info: {
          first_name: 'John',
          last_name: 'Doe',
          email: 'john@example.com'
        }
      })
      .expect(201);

    const order = orderResponse.body;

    // 4. Process payment
    const paymentResponse = await request(testEnv.apiGateway)
      .post('/api/payments')
      .set('Authorization', `Bearer ${token}`)
      .send({
        order_id: order.id,
        user_id: user.id,
        amount: order.total_amount,
        method: 'card',
        provider: 'stripe'
      })
      .expect(201);

    // 5. Confirm payment (simulate webhook)
    await request(testEnv.paymentService)
      .put(`/api/payments/${paymentResponse.body.payment.id}/confirm`)
      .send({
        provider_transaction_id: 'txn_123456'
      })
      .expect(200);

    // 6. Verify order status updated
    const updatedOrderResponse = await request(testEnv.apiGateway)
      .get(`/api/orders/${order.id}`)
      .set('Authorization', `Bearer ${token}`)
      .expect(200);

    expect(updatedOrderResponse.body.payment_status).toBe('completed');
  });
});
