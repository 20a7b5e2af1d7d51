"""The CRM store and its services."""
