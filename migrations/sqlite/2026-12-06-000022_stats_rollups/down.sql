DROP TABLE self_assessment_quarters;
DROP TABLE latest_score_counts;
DROP TABLE latest_criterion_counts;
