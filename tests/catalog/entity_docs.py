"""catalog-info.yaml documents the entity tests share."""

SHOP = """\
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
  title: Shop
  description: Everything that sells.
spec:
  owner: payments
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  description: Takes orders.
  tags: [python, orders]
  links:
    - url: https://orders.example.com
      title: Orders
spec:
  type: service
  lifecycle: production
  owner: payments
  system: shop
  providesApis: [orders-api]
  dependsOn: [resource:orders-db]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: orders-api
spec:
  type: openapi
  lifecycle: production
  owner: group:default/payments
  system: shop
  definition: |
    openapi: "3.0.0"
    info: {title: Orders, version: "1"}
    paths: {}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
spec:
  type: website
  lifecycle: experimental
  owner: payments
  system: shop
  consumesApis: [orders-api]
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: orders-db
spec:
  type: database
  owner: payments
  system: shop
"""
