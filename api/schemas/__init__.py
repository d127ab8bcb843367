"""The HTTP contract: request and response models, separate from the store's records."""
