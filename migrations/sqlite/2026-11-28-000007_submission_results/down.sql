DROP INDEX submissions_submitted;
DROP TABLE submission_criterion_results;
DROP TABLE submission_theme_scores;
