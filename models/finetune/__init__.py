"""Fine-tuning the generator on QA records: answer-token loss, curriculum, freeze or LoRA."""
