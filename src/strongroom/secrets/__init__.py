"""The secrets vault: versioned values with check-and-set, staging labels and expiry."""
