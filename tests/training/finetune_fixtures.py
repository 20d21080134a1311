"""A real (tiny) tokenizer with a chat template and a tiny random Llama, so the fine-tuning
mechanics run in seconds; the real base model is used only in the slow test."""

import json
import random
from pathlib import Path

WORDS = (
    "the alpha river flows north past old mill built in 1820 by jane smith beta mountain is high "
    "and was first climbed 1901 gamma lake holds trout pike when who what question passages do not "
    "contain answer answer using only numbered give short then number of passage it comes from like "
    "if reply exactly system user assistant"
).split()
SPECIAL = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    symbols = list("[],.:;!?'\"()-") + [str(d) for d in range(10)]
    vocab = {token: i for i, token in enumerate(SPECIAL + sorted(set(WORDS)) + symbols)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL[2:]})
    tokenizer.chat_template = TEMPLATE
    return tokenizer


def tiny_model(tokenizer, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def qa_records(n: int = 12, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    facts = [
        ("the alpha river flows north past old mill built in 1820", "when was old mill built", "1820"),
        ("beta mountain is high and was first climbed in 1901", "when was beta mountain first climbed", "1901"),
        ("gamma lake holds trout and pike", "what does gamma lake hold", "trout and pike"),
    ]
    records = []
    for i in range(n):
        text, question, answer = facts[i % 3]
        other = facts[(i + 1) % 3][0]
        answerable = i % 4 != 3
        passages = [
            {"text": text if answerable else facts[(i + 2) % 3][0], "source": "a"},
            {"text": other, "source": "b"},
        ]
        rng.shuffle(passages)
        citations = [1 + [p["text"] for p in passages].index(text)] if answerable else []
        records.append(
            {
                "id": str(i),
                "question": question,
                "passages": passages,
                "answerable": answerable,
                "origin": "test",
                "answer": answer if answerable else "The passages do not contain the answer.",
                "citations": citations,
            }
        )
    return records


def write_jsonl(records: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path
