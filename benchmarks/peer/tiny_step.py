#!/usr/bin/python3
"""The PyTorch eager peer of `attnlab bench train --preset tiny --plugins dense`.

The same Qwen3-style model (RMSNorm, RoPE rotate-half, per-head QK-norm, GQA, SwiGLU, tied
embedding; parameter count asserted against attnlab's formula) and the same training step
(cross-entropy, backward, global-norm clipping, AdamW with decay on matrices only) on random
tokens, with shapes and hyperparameters from the config attnlab composes (`attnlab config show
experiments/smoke.yaml attention=dense`, given as --config; run.sh writes it), in PyTorch eager from Debian's python3-torch (LibTorch 1.13
underneath, like attnlab). 1.13 has no public scaled_dot_product_attention, so attention is
plain matmul + causal mask + softmax. Prints one line: `peer tokens_per_s=<median> ...`.
Run through benchmarks/peer/run.sh, which runs attnlab with the same B, T, threads, steps.
"""
import argparse
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(T, D, theta):
    inv_freq = theta ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    freqs_TD2 = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb_TD = torch.cat([freqs_TD2, freqs_TD2], -1)
    return emb_TD.cos().float(), emb_TD.sin().float()


def rope(x_BHTD, cos_TD, sin_TD):
    x1, x2 = x_BHTD.chunk(2, -1)
    return x_BHTD * cos_TD + torch.cat([-x2, x1], -1) * sin_TD


class Attention(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        C, H, K, D = c["d_model"], c["n_head"], c["n_kv_head"], c["head_dim"]
        self.H, self.K, self.D = H, K, D
        self.q_proj = torch.nn.Linear(C, H * D, bias=False)
        self.k_proj = torch.nn.Linear(C, K * D, bias=False)
        self.v_proj = torch.nn.Linear(C, K * D, bias=False)
        self.o_proj = torch.nn.Linear(H * D, C, bias=False)
        self.q_norm = RMSNorm(D, c["norm_eps"])
        self.k_norm = RMSNorm(D, c["norm_eps"])

    def forward(self, x_BTC, cos_TD, sin_TD, mask_TT):
        B, T, _ = x_BTC.shape
        heads = lambda t, n: t.view(B, T, n, self.D).transpose(1, 2)
        q_BHTD = rope(self.q_norm(heads(self.q_proj(x_BTC), self.H)), cos_TD, sin_TD)
        k_BKTD = rope(self.k_norm(heads(self.k_proj(x_BTC), self.K)), cos_TD, sin_TD)
        v_BKTD = heads(self.v_proj(x_BTC), self.K)
        group = self.H // self.K
        k_BHTD = k_BKTD.repeat_interleave(group, 1)
        v_BHTD = v_BKTD.repeat_interleave(group, 1)
        s_BHTT = (q_BHTD @ k_BHTD.transpose(-2, -1)) / math.sqrt(self.D)
        y_BHTD = torch.softmax(s_BHTT.masked_fill(mask_TT, float("-inf")), -1) @ v_BHTD
        return self.o_proj(y_BHTD.transpose(1, 2).reshape(B, T, self.H * self.D))


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        C, F_ = c["d_model"], c["ffn_hidden"]
        self.attn_norm = RMSNorm(C, c["norm_eps"])
        self.attn = Attention(c)
        self.mlp_norm = RMSNorm(C, c["norm_eps"])
        self.gate = torch.nn.Linear(C, F_, bias=False)
        self.up = torch.nn.Linear(C, F_, bias=False)
        self.down = torch.nn.Linear(F_, C, bias=False)

    def forward(self, x_BTC, cos_TD, sin_TD, mask_TT):
        h_BTC = x_BTC + self.attn(self.attn_norm(x_BTC), cos_TD, sin_TD, mask_TT)
        m_BTC = self.mlp_norm(h_BTC)
        return h_BTC + self.down(F.silu(self.gate(m_BTC)) * self.up(m_BTC))


class Decoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        assert c["tie_embeddings"], "the peer implements the tied embedding only"
        self.c = c
        self.embed = torch.nn.Embedding(c["vocab_size"], c["d_model"])
        self.blocks = torch.nn.ModuleList(Block(c) for _ in range(c["n_layer"]))
        self.final_norm = RMSNorm(c["d_model"], c["norm_eps"])
        std, out_std = c["init_std"], c["init_std"] / math.sqrt(2 * c["n_layer"])
        with torch.no_grad():
            self.embed.weight.normal_(0, std)
            for b in self.blocks:
                for lin in (b.attn.q_proj, b.attn.k_proj, b.attn.v_proj, b.gate, b.up):
                    lin.weight.normal_(0, std)
                b.attn.o_proj.weight.normal_(0, out_std)
                b.down.weight.normal_(0, out_std)

    def loss(self, idx_BT, targets_BT):
        T = idx_BT.shape[1]
        cos_TD, sin_TD = rope_tables(T, self.c["head_dim"], self.c["rope_theta"])
        mask_TT = torch.ones(T, T, dtype=torch.bool).triu(1)
        x_BTC = self.embed(idx_BT)
        for b in self.blocks:
            x_BTC = b(x_BTC, cos_TD, sin_TD, mask_TT)
        logits_BTV = self.final_norm(x_BTC) @ self.embed.weight.t()
        return F.cross_entropy(logits_BTV.reshape(-1, logits_BTV.shape[-1]), targets_BT.reshape(-1))


def attnlab_parameter_count(c):
    """ModelConfig::parameter_count (core/model/model_config.cpp), for the tied embedding."""
    C, H, K, D, F_ = c["d_model"], c["n_head"], c["n_kv_head"], c["head_dim"], c["ffn_hidden"]
    per_layer = C * H * D + 2 * C * K * D + H * D * C + 2 * D + 3 * C * F_ + 2 * C
    return c["n_layer"] * per_layer + C + c["vocab_size"] * C


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--steps", type=int, default=5, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads")
    p.add_argument("--config", required=True,
                   help="a composed config: `attnlab config show experiments/smoke.yaml attention=dense`")
    a = p.parse_args()

    with open(a.config) as f:
        cfg = yaml.safe_load(f)
    c, t = cfg["model"], cfg["train"]
    # PyYAML reads YAML 1.1, where "1e-06" (no dot) is a string: convert the floats by name.
    for key in ("norm_eps", "init_std", "rope_theta"):
        c[key] = float(c[key])
    data_vocab = int(cfg["data"]["vocab_size"])
    lr, weight_decay, eps, grad_clip = (float(t[k]) for k in ("lr", "weight_decay", "adam_eps", "grad_clip"))
    betas = (float(t["beta1"]), float(t["beta2"]))

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Decoder(c)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == attnlab_parameter_count(c), (n_params, attnlab_parameter_count(c))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=betas, eps=eps)
    tokens_SBT1 = torch.randint(0, data_vocab, (a.warmup + a.steps, a.batch, a.seq + 1))

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss = model.loss(tokens_SBT1[i, :, :-1], tokens_SBT1[i, :, 1:])
        loss.backward()
        value = loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        return value

    for i in range(a.warmup):
        step(i)
    times = []
    for i in range(a.steps):
        t0 = time.perf_counter()
        loss = step(a.warmup + i)
        times.append(time.perf_counter() - t0)
    assert math.isfinite(loss), loss
    step_s = statistics.median(times)
    print(f"peer tokens_per_s={a.batch * a.seq / step_s:.1f} step_ms={step_s * 1e3:.1f} "
          f"params={n_params} loss={loss:.3f} torch={torch.__version__} threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
