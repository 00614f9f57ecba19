"""LINE in and out: the webhook, routing, account linking and the chat-form engine."""
