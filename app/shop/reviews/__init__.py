"""Reviews and ratings: a customer who received a product reviews it once (stars, title, text) and
may edit it; other shoppers vote reviews helpful; staff hide a review with a reason, and unhide it.

models (reviews and helpful votes), service (eligibility, writing, moderation, and the product's
rating kept in step with its visible reviews), schemas and views (the API)."""
