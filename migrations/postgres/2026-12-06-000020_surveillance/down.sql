DROP TABLE renewals;
DROP TABLE surveillance_reviews;
