"""Gemma 3 (Google), text only, through transformers: the built-in prompt enhancer when Ollama is not there.

The model directory is a Gemma 3 text checkpoint in the Hugging Face layout, as published for
google/gemma-3-1b-it: `config.json` (model_type "gemma3_text", Gemma3ForCausalLM), safetensors weights,
`generation_config.json`, and the tokenizer files with the chat template. It is loaded with
`AutoModelForCausalLM` / `AutoTokenizer`, so any instruction-tuned causal LM in that layout also works.

`generate` runs the chat template over the messages and stops at the end of the model's turn, at
`max_new_tokens`, or at a wall-clock deadline, whichever comes first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from milimo.config import ModelConfig
from milimo.models.base import LoadedModel, Placement, require_weights
from milimo.models.devices import pick_device, pick_dtype, release_memory

if TYPE_CHECKING:
    from milimo.models.arbiter import Arbiter

END_OF_TURN = "<end_of_turn>"

# Gemma 3's chat template, text only: the system message is folded into the first user turn, the
# assistant's role is called "model". Used by the tiny checkpoint; real checkpoints bring their own.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') }}"
    "{{ message['content'] | trim }}"
    "{{ '<end_of_turn>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{ '<start_of_turn>model\\n' }}"
    "{%- endif -%}"
)

StopReason = Literal["eos", "max_tokens", "deadline"]


@dataclass(frozen=True)
class GenerationResult:
    text: str
    new_tokens: int
    stopped: StopReason
    seconds: float


class Gemma3Family:
    family = "gemma3"

    def load(self, config: ModelConfig, placement: Placement) -> LoadedModel:
        path = require_weights(config)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=placement.dtype)
        model.eval()
        return LoadedModel(config, {"model": model, "tokenizer": tokenizer}, placement)

    def make_tiny(self, target: Path) -> None:
        """A random-weight Gemma 3 text checkpoint (about 100 KB) with a real tokenizer and chat template.

        The tokenizer is Gemma's (BPE with byte fallback) over a small vocabulary: Gemma's special tokens
        at their usual low ids, the turn markers, the 256 byte tokens and printable ASCII, so any text
        encodes and decodes.
        """
        import torch
        from transformers import Gemma3ForCausalLM, Gemma3TextConfig, GemmaTokenizer, GenerationConfig

        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", END_OF_TURN]
        vocab = {token: i for i, token in enumerate(specials)}
        for byte in range(256):
            vocab[f"<0x{byte:02X}>"] = len(vocab)
        for char in ["▁", *(chr(c) for c in range(33, 127))]:
            vocab.setdefault(char, len(vocab))
        tokenizer = GemmaTokenizer(
            vocab=vocab, merges=[], extra_special_tokens=["<start_of_turn>", END_OF_TURN], add_bos_token=True
        )
        tokenizer.chat_template = CHAT_TEMPLATE
        tokenizer.save_pretrained(target)

        eos = [vocab["<eos>"], vocab[END_OF_TURN]]
        config = Gemma3TextConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=16,
            query_pre_attn_scalar=16,
            max_position_embeddings=8192,
            sliding_window=64,
            layer_types=["sliding_attention", "full_attention"],
            pad_token_id=vocab["<pad>"],
            bos_token_id=vocab["<bos>"],
            eos_token_id=eos,
        )
        torch.manual_seed(0)
        model = Gemma3ForCausalLM(config)
        model.generation_config = GenerationConfig(
            bos_token_id=vocab["<bos>"],
            eos_token_id=eos,
            pad_token_id=vocab["<pad>"],
            do_sample=True,
            top_k=64,
            top_p=0.95,
        )
        model.save_pretrained(target)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(configured)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    end_of_turn = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        ids.add(end_of_turn)
    return sorted(ids)


def _chat_inputs(tokenizer: Any, messages: list[dict[str, str]]) -> Any:
    """The tokenized chat; a template without a system role gets the system text in the first user turn."""
    from jinja2 import TemplateError

    try:
        return tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
    except TemplateError:
        if len(messages) < 2 or messages[0]["role"] != "system":
            raise
        system, first, *rest = messages
        merged = {**first, "content": f"{system['content']}\n\n{first['content']}"}
        return tokenizer.apply_chat_template(
            [merged, *rest], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )


def generate(
    loaded: LoadedModel,
    messages: Sequence[dict[str, str]],
    *,
    max_new_tokens: int = 256,
    timeout_s: float | None = None,
    min_new_tokens: int = 0,
    temperature: float = 0.7,
) -> GenerationResult:
    """One assistant turn for `messages` ({"role", "content"}), through the tokenizer's chat template.

    Stops at the end of turn, after `max_new_tokens`, or once `timeout_s` of wall-clock time has passed
    (checked after every token, so it overshoots by at most one forward pass). `min_new_tokens` holds
    the end of turn back until that many tokens exist. `temperature` 0 decodes greedily.
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    start = time.monotonic()
    deadline = None if timeout_s is None else start + timeout_s
    model = loaded.modules["model"]
    tokenizer = loaded.modules["tokenizer"]

    class Deadline(StoppingCriteria):
        fired = False

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: object) -> torch.Tensor:
            done = deadline is not None and time.monotonic() >= deadline
            self.fired = self.fired or done
            return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)

    at_deadline = Deadline()

    inputs = _chat_inputs(tokenizer, list(messages))
    device = next(model.parameters()).device
    inputs = {key: value.to(device) for key, value in inputs.items()}
    prompt_length = inputs["input_ids"].shape[1]
    eos = _eos_ids(model, tokenizer)
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            min_new_tokens=min(min_new_tokens, max_new_tokens),
            eos_token_id=eos,
            pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0],
            stopping_criteria=StoppingCriteriaList([at_deadline]),
            **sampling,
        )
    new = output[0, prompt_length:]
    if len(new) and int(new[-1]) in eos:
        stopped: StopReason = "eos"
    elif at_deadline.fired:
        stopped = "deadline"
    else:
        stopped = "max_tokens"
    text = tokenizer.decode(new, skip_special_tokens=True).strip()
    return GenerationResult(text=text, new_tokens=len(new), stopped=stopped, seconds=time.monotonic() - start)


class GemmaBackend:
    """The prompt enhancer's built-in backend (see `milimo.models.prompts`): a Gemma 3 model, text only.

    `model` gives the loaded model for the time of one enhancement: `from_arbiter` borrows it from the
    arbiter (which parks it in RAM afterwards, freeing the accelerator for the video model);
    `from_config` loads it for each call and releases it after, unless `keep_loaded`.
    """

    source = "gemma"

    def __init__(
        self,
        model: Callable[[], AbstractContextManager[LoadedModel]],
        *,
        max_new_tokens: int = 320,
        temperature: float = 0.7,
    ) -> None:
        self._model = model
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature

    @classmethod
    def from_arbiter(cls, arbiter: Arbiter, name: str, **options: Any) -> GemmaBackend:
        return cls(lambda: arbiter.acquire(name), **options)

    @classmethod
    def from_config(
        cls, config: ModelConfig, placement: Placement | None = None, *, keep_loaded: bool = False, **options: Any
    ) -> GemmaBackend:
        held: list[LoadedModel] = []

        @contextmanager
        def model() -> Iterator[LoadedModel]:
            loaded = held[0] if held else _load(config, placement)
            try:
                yield loaded
            finally:
                if keep_loaded:
                    held[:] = [loaded]
                else:
                    _release(loaded)

        return cls(model, **options)

    def accepts_images(self, deadline: float) -> bool:
        return False

    def complete(self, system: str, user: str, *, image: bytes | None, deadline: float) -> tuple[str, bool]:
        """The reply to one system + user exchange, and whether it was cut off at the token limit."""
        from milimo.models.prompts import EnhancementFailed

        with self._model() as loaded:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EnhancementFailed("timed out while loading the model")
            result = generate(
                loaded,
                [{"role": "system", "content": system}, {"role": "user", "content": user}],
                max_new_tokens=self.max_new_tokens,
                timeout_s=remaining,
                temperature=self.temperature,
            )
        if result.stopped == "deadline":
            raise EnhancementFailed(f"timed out after {result.new_tokens} tokens")
        return result.text, result.stopped == "max_tokens"


def _load(config: ModelConfig, placement: Placement | None) -> LoadedModel:
    if placement is None:
        device = pick_device(config.device)
        placement = Placement(device=device, dtype=pick_dtype(device, config.dtype))
    loaded = Gemma3Family().load(config, placement)
    loaded.to(placement.device)
    return loaded


def _release(loaded: LoadedModel) -> None:
    loaded.modules.clear()
    release_memory()
