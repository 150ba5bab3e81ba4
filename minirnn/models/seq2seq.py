"""An encoder-decoder (sequence-to-sequence) model with optional attention, and its backward pass by hand
(Sutskever et al. 2014; Bahdanau et al. 2015; Luong et al. 2015).

    enc_out, enc_state = encoder(E_src[x])                 x (S, B) -> enc_out (S, B, K), K = D*H (D = 2:
    bidirectional) s_0                = [forward h_n ; reverse h_n]        (B, K): the decoder's state has the
    encoder's width for t = 1 .. T:                                          y_0 = <s>
        ctx_t, w_t     = attention(s_{t-1}, enc_out, mask)   (B, K), (B, S): what the decoder reads now
        s_t            = cell([E_tgt[y_{t-1}] ; ctx_t], s_{t-1})
        logits_t       = [s_t ; ctx_t] W_out^T + b_out      (B, V)
    (without attention: s_t = cell(E_tgt[y_{t-1}], s_{t-1}), logits_t = s_t W_out^T + b_out: the whole source
    must pass through s_0.)

The decoder's input y_{t-1} is the true previous symbol during training (teacher forcing); at test time it is
the model's own previous prediction (free running). A model trained only on true prefixes never sees its own
mistakes: *exposure bias*. Scheduled sampling (Bengio et al. 2015) feeds the model's prediction instead with
probability ``sampling_prob`` at each step; the choice is not differentiated (the prediction is an argmax).

One ``backward`` runs BPTT through the decoder steps (in reverse), the attention of each step, and the
encoder (one call of the encoder layer's backward, with the keys' gradient summed over all decoder steps and
the gradient of s_0 as dh_n). The decoder steps call the cell's step functions
(``minirnn.cells.<cell>.step_forward``/``step_backward``)
and keep one cache per step; which cell it is, the registry knows (``registry.get(cell).step_forward``).

Parameters (names as in a PyTorch ``state_dict``): ``src_embed.weight``, ``encoder.weight_ih_l0`` ...,
``tgt_embed.weight``, ``decoder.weight_ih_l0``, ``decoder.weight_hh_l0``, ``decoder.bias_ih_l0``,
``decoder.bias_hh_l0``, ``attention.*`` (see ``minirnn.nn.attention``), ``fc.weight``, ``fc.bias``.
"""

from __future__ import annotations

import numpy as np

from ..cells import registry
from ..data.pairs import BOS, EOS, PairVocab
from ..nn.attention import ATTENTIONS
from ..nn.linear import Embedding, Linear
from ..nn.module import Module
from ..nn.validation import check_output_grad, check_size
from .char_lm import CELLS, _seeds

__all__ = ["Seq2Seq"]


_WEIGHTS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


class _DecoderCell(Module):
    """The decoder's cell parameters under PyTorch's names, U(-1/sqrt(H), 1/sqrt(H)) like
    ``torch.nn.GRUCell``."""

    def __init__(self, cell, input_size, hidden_size, dtype, seed):
        super().__init__()
        G = registry.get(cell).num_gates
        rng, bound = np.random.default_rng(seed), 1.0 / np.sqrt(hidden_size)
        shapes = [
            (G * hidden_size, input_size),
            (G * hidden_size, hidden_size),
            (G * hidden_size,),
            (G * hidden_size,),
        ]
        for name, shape in zip(_WEIGHTS, shapes):
            self._own_params[name] = rng.uniform(-bound, bound, shape).astype(dtype)
            self._own_grads[name] = np.zeros(shape, dtype=dtype)

    def weights(self):
        return [self._own_params[n] for n in _WEIGHTS]


def _vocab(v, what):
    if isinstance(v, PairVocab):
        return v, len(v)
    if isinstance(v, str):
        v = PairVocab(v)
        return v, len(v)
    return None, check_size(v, what)


class _Keys:
    """The encoder's outputs as keys (B, S, K), with the attention's query-free part computed once (or
    None)."""

    def __init__(self, keys, projected):
        self.keys, self.projected, self.shape = keys, projected, keys.shape

    def repeat(self, n):
        """Each source repeated n times (for a beam of n prefixes)."""
        projected = None if self.projected is None else np.repeat(self.projected, n, 0)
        return _Keys(np.repeat(self.keys, n, 0), projected)


class Seq2Seq(Module):
    """Embedding -> RNN/LSTM/GRU encoder (bidirectional by default) -> decoder with optional attention ->
    Linear.

    Args:
        src_vocab, tgt_vocab: a str of symbols (a :class:`~minirnn.data.PairVocab` is built, ids 0, 1, 2 are
            ``<pad>, <s>, </s>``) or an int vocabulary size.
        hidden_size: H of each encoder direction; the decoder's state has size D*H.
        cell: "rnn" | "lstm" | "gru" (encoder and decoder).  attention: "additive" | "dot" | "general" | None.
        embed_dim, bidirectional, attn_size (additive only; default D*H), dtype, seed, backend (of the
        encoder).

    Example:
        >>> model = Seq2Seq("abc", "abc", 8, cell="gru", attention="additive", seed=0)
        >>> model
        Seq2Seq(src_vocab=6, tgt_vocab=6, hidden_size=8, cell='gru', attention='additive', embed_dim=16)
        >>> src, lengths, tgt_in = np.array([[3, 4], [5, 0]]), np.array([2, 1]), np.array([[1, 1], [4, 5]])
        >>> logits = model(src, lengths, tgt_in)                  # (T=2, B=2, V=6)
        >>> model.backward(np.ones_like(logits)); model.grads["attention.v"].shape
        (16,)
        >>> tokens, weights = model.greedy(src, lengths, max_len=4)
        >>> len(tokens), weights.shape                            # weights (B, steps, S)
        (2, (2, 4, 2))
    """

    def __init__(
        self,
        src_vocab,
        tgt_vocab,
        hidden_size=64,
        cell="gru",
        attention="additive",
        *,
        embed_dim=16,
        bidirectional=True,
        attn_size=None,
        dtype=np.float64,
        seed=None,
        backend="auto",
    ):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"Seq2Seq: cell must be one of {tuple(CELLS)}, got {cell!r}")
        if attention not in (None, *ATTENTIONS):
            raise ValueError(f"Seq2Seq: attention must be one of {(*ATTENTIONS, None)}, got {attention!r}")
        self.src_vocab, Vs = _vocab(src_vocab, "Seq2Seq: src_vocab")
        self.tgt_vocab, Vt = _vocab(tgt_vocab, "Seq2Seq: tgt_vocab")
        H, E = check_size(hidden_size, "Seq2Seq: hidden_size"), check_size(embed_dim, "Seq2Seq: embed_dim")
        self.cell, self.attention_kind, self.embed_dim, self.bidirectional = (
            cell,
            attention,
            E,
            bool(bidirectional),
        )
        self.hidden_size, self.src_vocab_size, self.tgt_vocab_size = H, Vs, Vt
        K = H * (2 if self.bidirectional else 1)  # key size = decoder state size
        self.attn_size = None if attention != "additive" else check_size(attn_size or K, "Seq2Seq: attn_size")
        s = _seeds(seed, 6)
        self._modules["src_embed"] = Embedding(Vs, E, dtype=dtype, seed=s[0])
        self._modules["encoder"] = CELLS[cell](
            E, H, bidirectional=self.bidirectional, dtype=dtype, seed=s[1], backend=backend
        )
        self._modules["tgt_embed"] = Embedding(Vt, E, dtype=dtype, seed=s[2])
        self._modules["decoder"] = _DecoderCell(cell, E + (K if attention else 0), K, dtype, s[3])
        if attention == "additive":
            self._modules["attention"] = ATTENTIONS[attention](K, K, self.attn_size, dtype=dtype, seed=s[4])
        elif attention == "general":
            self._modules["attention"] = ATTENTIONS[attention](K, K, dtype=dtype, seed=s[4])
        elif attention == "dot":
            self._modules["attention"] = ATTENTIONS[attention](K, dtype=dtype)
        self._modules["fc"] = Linear(K * (2 if attention else 1), Vt, dtype=dtype, seed=s[5])
        self.dtype, self._cache = np.dtype(dtype), None

    # -- the pieces
    # ---------------------------------------------------------------------------------------------------
    def _check_ids(self, ids, name, V, ndim):
        ids = np.asarray(ids)
        if ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"Seq2Seq: {name} must be an integer array of ids, got dtype {ids.dtype}")
        if ids.ndim != ndim or ids.size == 0:
            raise ValueError(
                f"Seq2Seq: {name} must be a non-empty array with {ndim} dimensions, got shape {ids.shape}"
            )
        if ids.min() < 0 or ids.max() >= V:
            raise ValueError(
                f"Seq2Seq: {name} must hold ids in [0, {V}), got {int(ids.min())}..{int(ids.max())}"
            )
        return ids.astype(np.int64, copy=False)

    def _encode(self, src, src_lengths):
        """src (S, B), src_lengths (B,) -> keys (B, S, K), decoder state tuple of (B, K), mask (B, S)."""
        src = self._check_ids(src, "src", self.src_vocab_size, 2)
        S, B = src.shape
        lengths = np.asarray(src_lengths)
        if lengths.dtype == bool or not np.issubdtype(lengths.dtype, np.integer):
            raise TypeError(f"Seq2Seq: src_lengths must be integers, got dtype {lengths.dtype}")
        if lengths.shape != (B,) or lengths.min() < 1 or lengths.max() > S:
            raise ValueError(
                f"Seq2Seq: src_lengths must be B = {B} integers in 1..{S}, got {lengths.tolist()}"
            )
        out, finals = self._modules["encoder"](
            self._modules["src_embed"](src), lengths=lengths
        )  # out (S, B, K)
        finals = finals if isinstance(finals, tuple) else (finals,)  # (h_n,) or (h_n, c_n), each (D, B, H)
        state = tuple(np.concatenate(list(f), axis=1) for f in finals)  # (B, D*H): forward, then reverse
        mask = np.arange(S)[None, :] < lengths[:, None]  # (B, S)
        keys = np.ascontiguousarray(out.transpose(1, 0, 2))
        return (
            _Keys(keys, self._modules["attention"].project(keys) if self.attention_kind else None),
            state,
            mask,
        )

    def _step(self, y_prev, state, keys, mask):
        """One decoder step: y_prev (B,) ids -> logits (B, V), new state, attention weights (B, S) or None,
        caches."""
        x = self._modules["tgt_embed"].weight[y_prev]  # (B, E)
        ctx, weights, attn_cache = None, None, None
        if self.attention_kind:
            ctx, weights, attn_cache = self._modules["attention"].step(
                state[0], keys.keys, mask, keys.projected
            )
            x = np.concatenate([x, ctx], axis=1)  # (B, E + K)
        state, cell_cache = registry.get(self.cell).step_forward(
            x, tuple(state), self._modules["decoder"].weights()
        )
        out = state[0] if ctx is None else np.concatenate([state[0], ctx], axis=1)  # (B, F)
        fc = self._modules["fc"]
        return out @ fc.weight.T + fc.bias, state, weights, (out, cell_cache, attn_cache)

    # -- training: teacher forcing and scheduled sampling
    # ----------------------------------------------------------
    def __call__(self, src, src_lengths, tgt_in, *, sampling_prob=0.0, rng=None):
        """Run the decoder over ``tgt_in`` (T, B) (``<s>`` then the target) and return logits (T, B, V).

        Step t reads tgt_in[t] (teacher forcing), or, with probability ``sampling_prob`` per sequence and
        step t > 0, the model's own argmax prediction of step t-1 (scheduled sampling; ``sampling_prob=1`` is
        free running). ``rng`` (a Generator) draws those choices. Keeps what :meth:`backward` needs.
        """
        tgt_in = self._check_ids(tgt_in, "tgt_in", self.tgt_vocab_size, 2)
        if not (0 <= sampling_prob <= 1):
            raise ValueError(f"Seq2Seq: sampling_prob must lie in [0, 1], got {sampling_prob!r}")
        if sampling_prob > 0 and not isinstance(rng, np.random.Generator):
            raise TypeError(f"Seq2Seq: sampling_prob > 0 needs rng=, a numpy.random.Generator, got {rng!r}")
        keys, state, mask = self._encode(src, src_lengths)
        T, B = tgt_in.shape
        if keys.shape[0] != B:
            raise ValueError(
                f"Seq2Seq: tgt_in must have B = {keys.shape[0]} columns like src, got shape {tgt_in.shape}"
            )
        fed, logits, caches = tgt_in.copy(), np.empty((T, B, self.tgt_vocab_size), self.dtype), []
        for t in range(T):
            if t > 0 and sampling_prob > 0:
                own = rng.random(B) < sampling_prob
                fed[t] = np.where(own, logits[t - 1].argmax(axis=1), tgt_in[t])
            logits[t], state, _, cache = self._step(fed[t], state, keys, mask)
            caches.append(cache)
        self._cache = {
            "fed": fed,
            "caches": caches,
            "keys_shape": keys.shape,
            "n_states": len(state),
            "keys": keys,
        }
        return logits

    forward = __call__

    def backward(self, dlogits) -> None:
        """dlogits (T, B, V) -> None: BPTT through decoder, attention and encoder; fills (overwrites)
        ``grads``."""
        if self._cache is None:
            raise RuntimeError("Seq2Seq.backward called before a forward pass (or twice for one forward)")
        c, self._cache = self._cache, None
        fed, caches = c["fed"], c["caches"]
        T, B = fed.shape
        dlogits = check_output_grad(dlogits, (T, B, self.tgt_vocab_size), self.dtype, "dlogits")
        fc, dec, E, K = self._modules["fc"], self._modules["decoder"], self.embed_dim, c["keys_shape"][2]
        outs = np.stack([cache[0] for cache in caches])  # (T, B, F)
        fc.grads["weight"][...] = dlogits.reshape(T * B, -1).T @ outs.reshape(T * B, -1)
        fc.grads["bias"][...] = dlogits.sum(axis=(0, 1))
        douts = dlogits @ fc.weight  # (T, B, F)
        dstate = [np.zeros((B, K), self.dtype) for _ in range(c["n_states"])]
        dkeys, demb = np.zeros(c["keys_shape"], self.dtype), np.empty((T, B, E), self.dtype)
        dprojected = None
        dW = [np.zeros_like(w) for w in dec.weights()]
        attn_grads = {k: np.zeros_like(v) for k, v in self.params.items() if k.startswith("attention.")}
        for t in reversed(range(T)):
            _, cell_cache, attn_cache = caches[t]
            dstate[0] = dstate[0] + douts[t, :, :K]  # logits read s_t ...
            dx, dstate, dw = registry.get(self.cell).step_backward(tuple(dstate), cell_cache)
            dstate = list(dstate)
            for acc, g in zip(dW, dw):
                acc += g
            demb[t] = dx[:, :E]
            if self.attention_kind:  # ... and ctx_t, which the cell also read
                dctx = douts[t, :, K:] + dx[:, E:]
                dq, dk, ga = self._modules["attention"].step_backward(dctx, None, attn_cache)
                dstate[0] = dstate[0] + dq  # the query was s_{t-1}
                dkeys += dk
                if "key_proj" in ga:  # summed here, projected back once below
                    dprojected = ga.pop("key_proj") + (0 if dprojected is None else dprojected)
                for k, g in ga.items():
                    attn_grads[f"attention.{k}"] += g
        if dprojected is not None:
            dk, ga = self._modules["attention"].project_backward(dprojected, c["keys"].keys)
            dkeys += dk
            for k, g in ga.items():
                attn_grads[f"attention.{k}"] += g
        for name, g in zip(_WEIGHTS, dW):
            dec.grads[name][...] = g
        for name, g in attn_grads.items():
            self._modules["attention"].grads[name.split(".", 1)[1]][...] = g
        dE = self._modules["tgt_embed"].grads["weight"]
        dE[...] = 0
        np.add.at(dE, fed.reshape(-1), demb.reshape(T * B, E))  # each fed id gets its rows' gradient
        D, H = (2 if self.bidirectional else 1), self.hidden_size
        dfinals = [d.reshape(B, D, H).transpose(1, 0, 2).copy() for d in dstate]  # (D, B, H) each
        dsrc, _ = self._modules["encoder"].backward(
            np.ascontiguousarray(dkeys.transpose(1, 0, 2)),
            dfinals[0] if len(dfinals) == 1 else tuple(dfinals),
        )
        self._modules["src_embed"].backward(dsrc)

    # -- decoding
    # ---------------------------------------------------------------------------------------------------
    def greedy(self, src, src_lengths, max_len):
        """Free-running decoding: each step feeds back its own argmax, until ``</s>`` or ``max_len`` steps.

        Returns ``tokens`` (a list of B lists of ids, without ``</s>``) and the attention ``weights``
        (B, steps, S) (zeros without attention, and after a sequence ended).
        """
        max_len = check_size(max_len, "max_len")
        keys, state, mask = self._encode(src, src_lengths)
        B, S, _ = keys.shape
        y, done = np.full(B, BOS, np.int64), np.zeros(B, bool)
        tokens, weights = [[] for _ in range(B)], np.zeros((B, max_len, S), self.dtype)
        for t in range(max_len):
            logits, state, w, _ = self._step(y, state, keys, mask)
            y = logits.argmax(axis=1)
            if w is not None:
                weights[~done, t] = w[~done]
            for b in np.flatnonzero(~done):
                if y[b] != EOS:
                    tokens[b].append(int(y[b]))
            done |= y == EOS
            if done.all():
                return tokens, weights[:, : t + 1]
        return tokens, weights

    def translate(self, text, max_len=None, beam=1, length_penalty=1.0):
        """The model's output for one source string (symbol vocabularies only), and its attention (steps, S).

        ``beam=1`` is greedy decoding; ``beam > 1`` is :func:`~minirnn.models.beam_search.beam_search`.
        """
        from .beam_search import beam_search

        if self.src_vocab is None or self.tgt_vocab is None:
            raise ValueError("Seq2Seq.translate needs symbol vocabularies (src_vocab and tgt_vocab as str)")
        ids = self.src_vocab.encode(text)
        if ids.size == 0:
            raise ValueError("text must hold at least one character, got an empty str")
        max_len = max_len or 2 * len(ids) + 10
        tokens, _, weights = beam_search(self, ids, beam=beam, max_len=max_len, length_penalty=length_penalty)
        return self.tgt_vocab.decode(tokens), weights

    def __repr__(self):
        parts = [
            f"src_vocab={self.src_vocab_size}",
            f"tgt_vocab={self.tgt_vocab_size}",
            f"hidden_size={self.hidden_size}",
            f"cell={self.cell!r}",
            f"attention={self.attention_kind!r}",
            f"embed_dim={self.embed_dim}",
        ]
        if not self.bidirectional:
            parts.append("bidirectional=False")
        if self.attention_kind == "additive" and self.attn_size != self.hidden_size * (
            1 + self.bidirectional
        ):
            parts.append(f"attn_size={self.attn_size}")
        if self.dtype != np.float64:
            parts.append(f"dtype=np.{self.dtype}")
        return f"Seq2Seq({', '.join(parts)})"
