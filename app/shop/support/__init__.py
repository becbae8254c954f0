"""Customer service: support tickets and their threads, sorted into categories by a text
classifier, prioritised and given a due time, opened by shoppers, by carrier and refund events, and by
poor order feedback.

models (tickets, messages, staff corrections, order feedback), workflow (the ticket's states and
moves), classifier (the naive Bayes model and its corpus), service (what the API, storefront and
console do), consumers (the backbone events that open or update tickets), queries (the overdue count)."""
