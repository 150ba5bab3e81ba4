"""A character language model (Embedding -> RNN/LSTM/GRU stack -> Linear) and its sampler.

It predicts the next symbol at every step, so the same class also serves any per-step token task (the
copy-memory task uses it with integer symbols). Training with truncated BPTT (the state carried from chunk to
chunk) is the training loop's business (``minirnn/train.py``); this file holds the model and ``sample``.
"""

from __future__ import annotations

import numpy as np

from ..data.text import Vocab
from ..nn.linear import Embedding, Linear
from ..nn.module import Module
from ..nn.recurrent import LAYERS
from ..nn.validation import check_output_grad, check_size

__all__ = ["CharLM", "CELLS"]

#: The recurrent layer for each ``cell`` name (the layers' own table).
CELLS = LAYERS


def _seeds(seed, n):
    """n independent integer seeds from one seed (None stays random)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


class CharLM(Module):
    """Next-symbol model: an embedding, a recurrent stack and a linear read-out at every step.

        e_t            = E[x_t]                         x (T, B) ints in [0, V)   ->  e (T, B, embed_dim)
        out, state     = rnn(e, state)                  out (T, B, H), state h (L, B, H) or (h, c) for an LSTM
        logits_t       = out_t W^T + b                  (T, B, V)

    and ``softmax(logits_t)`` is the predicted distribution of x_{t+1}. ``backward(dlogits)`` runs the chain
    back through fc, rnn and the embedding and fills ``grads``; the incoming state gets no gradient (truncated
    BPTT cuts it).
    Parameters: ``embed.weight``, ``rnn.weight_ih_l0`` ..., ``fc.weight``, ``fc.bias``.

    Args:
        vocab: a :class:`~minirnn.tasks.Vocab`, a str of distinct characters, or an int V (symbols are then
        ids). hidden_size (H), cell ("rnn" | "lstm" | "gru"), num_layers, embed_dim, dropout (between
        recurrent layers).
        dtype, seed, backend: as for the layers.

    Example:
        >>> lm = CharLM("abc ", 16, cell="gru", seed=0)
        >>> lm
        CharLM(vocab=4, hidden_size=16, cell='gru', embed_dim=32)
        >>> logits, state = lm(np.array([[0, 1], [2, 3]]))       # (T=2, B=2) -> (2, 2, 4)
        >>> logits.shape, state.shape
        ((2, 2, 4), (1, 2, 16))
        >>> lm.backward(np.ones_like(logits)); lm.grads["embed.weight"].shape
        (4, 32)
        >>> len(lm.sample("ab", 10, temperature=0.8, seed=0))
        10
    """

    def __init__(
        self,
        vocab,
        hidden_size,
        cell="lstm",
        num_layers=1,
        embed_dim=32,
        dropout=0.0,
        *,
        dtype=np.float64,
        seed=None,
        backend="auto",
    ):
        super().__init__()
        if isinstance(vocab, str):
            vocab = Vocab(vocab)
        if isinstance(vocab, Vocab):
            self.vocab, V = vocab, len(vocab)
        elif isinstance(vocab, (int, np.integer)) and not isinstance(vocab, bool) and vocab >= 1:
            self.vocab, V = None, int(vocab)
        else:
            raise ValueError(
                f"CharLM: vocab must be a Vocab, a str of distinct characters or a positive int, "
                f"got {vocab!r}"
            )
        if cell not in CELLS:
            raise ValueError(f"CharLM: cell must be one of {tuple(CELLS)}, got {cell!r}")
        self.cell, self.vocab_size, self.embed_dim = cell, V, check_size(embed_dim, "CharLM: embed_dim")
        s_embed, s_rnn, s_fc = _seeds(seed, 3)
        self._modules["embed"] = Embedding(V, self.embed_dim, dtype=dtype, seed=s_embed)
        self._modules["rnn"] = CELLS[cell](
            self.embed_dim, hidden_size, num_layers, dropout=dropout, dtype=dtype, seed=s_rnn, backend=backend
        )
        self._modules["fc"] = Linear(hidden_size, V, dtype=dtype, seed=s_fc)
        self._cache = None

    embed = property(lambda self: self._modules["embed"], doc="The Embedding (V, embed_dim).")
    rnn = property(lambda self: self._modules["rnn"], doc="The recurrent stack.")
    fc = property(lambda self: self._modules["fc"], doc="The read-out Linear (H -> V).")

    def __call__(self, ids, state=None):
        """ids (T, B) ints, state from the previous chunk or None (zeros) -> logits (T, B, V), state."""
        ids = np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"CharLM: ids must have shape (T, B), got {ids.shape}")
        e = self.embed(ids)  # (T, B, E)
        out, state = self.rnn(e, state)  # (T, B, H)
        self._cache = out.shape
        return self.fc(out), state  # (T, B, V)

    forward = __call__

    def backward(self, dlogits) -> None:
        """dlogits (T, B, V) -> None; fills (overwrites) every gradient. No gradient flows into the given
        state."""
        if self._cache is None:
            raise RuntimeError("CharLM.backward called before a forward pass")
        dlogits = check_output_grad(dlogits, self._cache[:2] + (self.vocab_size,), self.rnn.dtype, "dlogits")
        dout = self.fc.backward(dlogits)  # (T, B, H)
        de, _ = self.rnn.backward(np.ascontiguousarray(dout))  # (T, B, E)
        self.embed.backward(de)

    def sample(self, prime, length, temperature=1.0, seed=None):
        """Generate ``length`` symbols after reading ``prime``.

        At each step: p = softmax(logits / temperature), draw the next symbol from p (``temperature=0``: take
        the most likely one), feed it back in. Lower temperatures give safer, more repetitive text; higher
        ones more surprising text. The model is put in eval mode for sampling and restored afterwards.

        Args:
            prime: a non-empty str (with a character vocabulary) or a sequence of ids.  length >= 0.
            temperature >= 0.  seed: int or Generator for the draws.

        Returns:
            the generated continuation (without the prime): a str with a character vocabulary, else an int64
        array. """
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise ValueError(f"length must be an integer >= 0, got {length!r}")
        if not (
            isinstance(temperature, (int, float, np.floating))
            and np.isfinite(temperature)
            and temperature >= 0
        ):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        if isinstance(prime, str):
            if self.vocab is None:
                raise ValueError("prime must be a sequence of ids: this model has no character vocabulary")
            ids = self.vocab.encode(prime)
        else:
            ids = np.asarray(prime).ravel()
            if ids.size and (ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer)):
                raise TypeError(f"prime must be a str or a sequence of integer ids, got dtype {ids.dtype}")
            ids = ids.astype(np.int64)
        if ids.size == 0:
            raise ValueError("prime must hold at least one symbol, got an empty one")
        rng = np.random.default_rng(seed)
        was_training = self.training
        self.eval()
        try:
            logits, state = self(ids[:, None])  # (P, 1, V)
            out = []
            for _ in range(length):
                z = logits[-1, 0].astype(np.float64)
                if temperature == 0:
                    nxt = int(np.argmax(z))
                else:
                    z = z / temperature
                    p = np.exp(z - z.max())
                    nxt = int(rng.choice(self.vocab_size, p=p / p.sum()))
                out.append(nxt)
                logits, state = self(np.array([[nxt]]), state)
        finally:
            self.train(was_training)
        out = np.array(out, dtype=np.int64)
        return self.vocab.decode(out) if self.vocab is not None else out

    def __repr__(self):
        parts = [f"vocab={self.vocab_size}", f"hidden_size={self.rnn.hidden_size}", f"cell={self.cell!r}"]
        if self.rnn.num_layers != 1:
            parts.append(f"num_layers={self.rnn.num_layers}")
        parts.append(f"embed_dim={self.embed_dim}")
        if self.rnn.dropout:
            parts.append(f"dropout={self.rnn.dropout}")
        if self.rnn.dtype != np.float64:
            parts.append(f"dtype=np.{self.rnn.dtype}")
        return f"CharLM({', '.join(parts)})"
