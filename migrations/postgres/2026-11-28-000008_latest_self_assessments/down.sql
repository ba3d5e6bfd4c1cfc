DROP TABLE latest_self_assessments;
