"""QA training data: SQuAD reading, article split, windowing, distractors, refusal records."""
