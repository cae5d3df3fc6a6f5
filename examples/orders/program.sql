-- Orders per region, kept up to date as customers and orders change.
CREATE TABLE customers (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40),
  region VARCHAR(20) NOT NULL
);

CREATE TABLE orders (
  id BIGINT NOT NULL PRIMARY KEY,
  customer_id INT NOT NULL,
  amount DECIMAL(10, 2) NOT NULL,
  placed DATE NOT NULL
) WITH ('append_only' = 'false');

-- Per-region totals: join + GROUP BY, maintained incrementally.
CREATE MATERIALIZED VIEW region_totals AS
SELECT c.region,
       COUNT(*) AS orders,
       SUM(o.amount) AS revenue,
       AVG(o.amount) AS avg_amount,
       MAX(o.amount) AS largest
FROM orders o JOIN customers c ON o.customer_id = c.id
GROUP BY c.region;

-- Customers without any order (LEFT JOIN + IS NULL).
CREATE VIEW idle_customers AS
SELECT c.id, c.name
FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
WHERE o.id IS NULL;

-- An intermediate view, not an output.
CREATE LOCAL VIEW big_orders AS
SELECT id, customer_id, amount FROM orders WHERE amount >= 100;

CREATE VIEW big_orders_per_month AS
SELECT EXTRACT(MONTH FROM o.placed) AS month, COUNT(DISTINCT b.customer_id) AS customers
FROM big_orders b JOIN orders o ON b.id = o.id
GROUP BY EXTRACT(MONTH FROM o.placed);
