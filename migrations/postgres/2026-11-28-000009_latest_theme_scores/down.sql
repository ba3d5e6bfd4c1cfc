DROP TABLE latest_theme_scores;
