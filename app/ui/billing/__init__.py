"""The billing export dialog."""
