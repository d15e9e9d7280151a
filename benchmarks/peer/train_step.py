#!/usr/bin/env python3
"""The PyTorch peer of `attnlab bench train --plugins dense`, at any model preset.

The same Qwen3-style model (RMSNorm, RoPE rotate-half, per-head QK-norm, GQA, SwiGLU, tied
embedding; parameter count asserted against attnlab's formula) and the same training step
(cross-entropy, backward, global-norm clipping, AdamW with decay on matrices only) on random
tokens, with shapes and hyperparameters from the config attnlab composes for the run (--config:
the output of `attnlab config show experiments/smoke.yaml attention=dense model=<preset>`).

Modes: eager, or compile (torch.compile of the model; the optimizer step stays eager, as in
attnlab). Attention: scaled_dot_product_attention(is_causal=True) where PyTorch has it (2.0 on;
grouped-query heads through enable_gqa from 2.5, repeated k/v before), else matmul + causal mask
+ softmax (Debian's python3-torch 1.13). --dtype bf16 runs the forward under autocast (fp32
master weights, gradients and optimizer state).

Prints one JSON line: median step time of --steps after --warmup (CUDA-synchronised),
tokens/s, peak memory, FLOPs/token (attnlab's formula, written here on its own) and MFU
against --peak-flops or, for bf16 on a GPU the table knows, its datasheet dense bf16 peak.
A mode this PyTorch lacks (compile before 2.0) prints {"unavailable": why, ...} and exits 0.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn.functional as F
import yaml

TORCH_VERSION = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")
SDPA_GQA = HAS_SDPA and TORCH_VERSION >= (2, 5)  # the enable_gqa argument

# NVIDIA datasheets, dense (no sparsity) bf16 tensor-core FLOP/s; the first entry whose every
# word is in the device name wins.
BF16_DENSE_PEAK = [(("H200",), 989.4e12), (("H100", "PCIe"), 756e12), (("H100",), 989.4e12),
                   (("A100",), 312e12)]


def attention_kind():
    if not HAS_SDPA:
        return f"matmul+softmax (torch {torch.__version__} has no scaled_dot_product_attention)"
    return "sdpa(is_causal, " + ("enable_gqa" if SDPA_GQA else "repeated k/v") + ")"


def causal_attention(q_BHTD, k_BKTD, v_BKTD):
    if SDPA_GQA:
        return F.scaled_dot_product_attention(q_BHTD, k_BKTD, v_BKTD, is_causal=True, enable_gqa=True)
    group = q_BHTD.shape[1] // k_BKTD.shape[1]
    k_BHTD, v_BHTD = k_BKTD.repeat_interleave(group, 1), v_BKTD.repeat_interleave(group, 1)
    if HAS_SDPA:
        return F.scaled_dot_product_attention(q_BHTD, k_BHTD, v_BHTD, is_causal=True)
    T = q_BHTD.shape[2]
    mask_TT = torch.ones(T, T, dtype=torch.bool, device=q_BHTD.device).triu(1)
    s_BHTT = (q_BHTD @ k_BHTD.transpose(-2, -1)) / math.sqrt(q_BHTD.shape[-1])
    return torch.softmax(s_BHTT.masked_fill(mask_TT, float("-inf")), -1) @ v_BHTD


class RMSNorm(torch.nn.Module):
    """Computed in fp32, returned in the input's dtype (bf16 under autocast)."""

    def __init__(self, dim, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight).to(x.dtype)


def rope_tables(T, D, theta, device):
    inv_freq = theta ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    freqs_TD2 = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb_TD = torch.cat([freqs_TD2, freqs_TD2], -1)
    return emb_TD.cos().float().to(device), emb_TD.sin().float().to(device)


def rope(x_BHTD, cos_TD, sin_TD):
    x1, x2 = x_BHTD.chunk(2, -1)
    return x_BHTD * cos_TD.to(x_BHTD.dtype) + torch.cat([-x2, x1], -1) * sin_TD.to(x_BHTD.dtype)


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

    def forward(self, x_BTC, cos_TD, sin_TD):
        B, T, _ = x_BTC.shape
        heads = lambda t, n: t.view(B, T, n, self.D).transpose(1, 2)
        q_BHTD = rope(self.q_norm(heads(self.q_proj(x_BTC), self.H)), cos_TD, sin_TD)
        k_BKTD = rope(self.k_norm(heads(self.k_proj(x_BTC), self.K)), cos_TD, sin_TD)
        v_BKTD = heads(self.v_proj(x_BTC), self.K)
        y_BHTD = causal_attention(q_BHTD, k_BKTD, v_BKTD)
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

    def forward(self, x_BTC, cos_TD, sin_TD):
        h_BTC = x_BTC + self.attn(self.attn_norm(x_BTC), cos_TD, sin_TD)
        m_BTC = self.mlp_norm(h_BTC)
        return h_BTC + self.down(F.silu(self.gate(m_BTC)) * self.up(m_BTC))


class Decoder(torch.nn.Module):
    """forward(inputs, targets, rope tables) is the mean cross-entropy: what torch.compile takes."""

    def __init__(self, c):
        super().__init__()
        assert c["tie_embeddings"], "the peer implements the tied embedding only"
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

    def forward(self, idx_BT, targets_BT, cos_TD, sin_TD):
        x_BTC = self.embed(idx_BT)
        for b in self.blocks:
            x_BTC = b(x_BTC, cos_TD, sin_TD)
        logits_BTV = self.final_norm(x_BTC) @ self.embed.weight.t()
        return F.cross_entropy(logits_BTV.reshape(-1, logits_BTV.shape[-1]).float(), targets_BT.reshape(-1))


def attnlab_parameter_count(c):
    """ModelConfig::parameter_count (core/model/model_config.cpp), for the tied embedding."""
    C, H, K, D, F_ = c["d_model"], c["n_head"], c["n_kv_head"], c["head_dim"], c["ffn_hidden"]
    per_layer = C * H * D + 2 * C * K * D + H * D * C + 2 * D + 3 * C * F_ + 2 * C
    return c["n_layer"] * per_layer + C + c["vocab_size"] * C


def flops_per_token(c, T):
    """Training FLOPs per token as attnlab counts them for dense attention: 6 x the matmul
    parameters (q, k, v, o, SwiGLU, LM head; a multiply-add is 2 FLOPs, backward 2x forward)
    plus, per layer, causal attention's 4*D*H FLOPs per visible (query, key) pair forward and
    2.5x that backward, over the T(T+1)/2 pairs of a sequence, divided by T."""
    C, H, K, D, F_ = c["d_model"], c["n_head"], c["n_kv_head"], c["head_dim"], c["ffn_hidden"]
    matmul = c["n_layer"] * (C * H * D + 2 * C * K * D + H * D * C + 3 * C * F_) + c["vocab_size"] * C
    attention_forward = 4.0 * D * H * T * (T + 1) / 2
    return 6.0 * matmul + c["n_layer"] * 3.5 * attention_forward / T


def datasheet_peak(device_name):
    for words, flops in BF16_DENSE_PEAK:
        if all(w in device_name for w in words):
            return flops
    return None


def read_config(path):
    with open(path) as f:
        cfg = yaml.safe_load(f)
    if not isinstance(cfg, dict) or "model" not in cfg or "train" not in cfg:
        raise SystemExit(f"train_step.py: {path} is not a composed attnlab config (no model: or train: "
                         "section); write it with `attnlab config show experiments/smoke.yaml "
                         "attention=dense model=<preset>`")
    c, t = cfg["model"], cfg["train"]
    # PyYAML reads YAML 1.1, where "1e-06" (no dot) is a string: convert the floats by name.
    for key in ("norm_eps", "init_std", "rope_theta"):
        c[key] = float(c[key])
    return c, t, int(cfg["data"]["vocab_size"])


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True,
                   help="a composed config: `attnlab config show experiments/smoke.yaml attention=dense "
                        "model=<preset>` written to a file")
    p.add_argument("--batch", type=int, default=4, help="sequences per step (B)")
    p.add_argument("--seq", type=int, default=512, help="sequence length (T)")
    p.add_argument("--steps", type=int, default=5, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (compile happens here)")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: PyTorch's default)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32",
                   help="fp32, or bf16 autocast with fp32 master weights")
    p.add_argument("--mode", choices=("eager", "compile"), default="eager",
                   help="eager, or torch.compile of the model (PyTorch 2.0 or newer)")
    p.add_argument("--peak-flops", type=float, default=0.0,
                   help="peak FLOP/s for MFU (default: the datasheet bf16 peak of a known GPU, for bf16)")
    a = p.parse_args()
    if min(a.batch, a.seq, a.steps) < 1 or min(a.warmup, a.threads) < 0 or a.peak_flops < 0:
        p.error("--batch, --seq and --steps must be >= 1; --warmup, --threads and --peak-flops >= 0")
    try:
        a.device = torch.device(a.device)
    except RuntimeError:
        p.error(f"--device {a.device!r} is not a device; use cpu, cuda or cuda:N")
    if a.device.type not in ("cpu", "cuda"):
        p.error(f"--device {a.device} is not supported; use cpu, cuda or cuda:N")
    if a.device.type == "cuda" and not torch.cuda.is_available():
        p.error(f"--device {a.device}: this PyTorch ({torch.__version__}) sees no CUDA device; use --device cpu")
    return a


def emit(record):
    print(json.dumps(record, sort_keys=True), flush=True)


class Run:
    """The model, optimizer, tokens and one training step, as attnlab's bench train runs them."""

    def __init__(self, a, c, t, data_vocab):
        self.a, self.device = a, a.device
        torch.manual_seed(0)
        self.model = Decoder(c).to(self.device)
        self.n_params = sum(p.numel() for p in self.model.parameters())
        assert self.n_params == attnlab_parameter_count(c), (self.n_params, attnlab_parameter_count(c))
        params = list(self.model.parameters())
        self.opt = torch.optim.AdamW(
            [{"params": [p for p in params if p.dim() >= 2], "weight_decay": float(t["weight_decay"])},
             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
            lr=float(t["lr"]), betas=(float(t["beta1"]), float(t["beta2"])), eps=float(t["adam_eps"]))
        self.clip = float(t["grad_clip"]) if float(t["grad_clip"]) > 0 else math.inf
        self.loss_fn = torch.compile(self.model) if a.mode == "compile" else self.model
        self.rope = rope_tables(a.seq, c["head_dim"], c["rope_theta"], self.device)
        self.tokens_SBT1 = torch.randint(0, data_vocab, (a.warmup + a.steps, a.batch, a.seq + 1),
                                         device=self.device)

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def step(self, i):
        self.opt.zero_grad(set_to_none=True)
        # Contiguous copies: every step's inputs look alike to torch.compile (no recompilation).
        inputs_BT, targets_BT = self.tokens_SBT1[i, :, :-1].contiguous(), self.tokens_SBT1[i, :, 1:].contiguous()
        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.a.dtype == "bf16"):
            loss = self.loss_fn(inputs_BT, targets_BT, *self.rope)
        loss.backward()
        value = loss.item()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        return value

    def timed_step(self, i):
        self.sync()
        t0 = time.perf_counter()
        loss = self.step(i)
        self.sync()
        return time.perf_counter() - t0, loss


def memory_after_warmup(device, measure):
    """Runs `measure`; returns its result and the peak memory it reached."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    result = measure()
    mib = lambda b: round(b / 2**20, 1)
    peak = {"peak_rss_mib": mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
            "peak_allocated_mib": None, "peak_reserved_mib": None}
    if device.type == "cuda":
        peak.update(peak_allocated_mib=mib(torch.cuda.max_memory_allocated(device)),
                    peak_reserved_mib=mib(torch.cuda.max_memory_reserved(device)))
    return result, peak


def main():
    a = parse_args()
    record = {"peer": "pytorch", "mode": a.mode, "device": str(a.device), "dtype": a.dtype,
              "batch": a.batch, "seq": a.seq, "warmup": a.warmup, "steps": a.steps,
              "torch": torch.__version__}
    if a.mode == "compile" and not hasattr(torch, "compile"):
        emit({**record, "unavailable": f"torch {torch.__version__} has no torch.compile (PyTorch 2.0 or newer)"})
        return
    c, t, data_vocab = read_config(a.config)
    if a.threads:
        torch.set_num_threads(a.threads)
    device_name = torch.cuda.get_device_name(a.device) if a.device.type == "cuda" else "cpu"
    run = Run(a, c, t, data_vocab)
    t0 = time.perf_counter()
    for i in range(a.warmup):
        run.step(i)
    run.sync()
    warmup_s = time.perf_counter() - t0
    steps, memory = memory_after_warmup(a.device, lambda: [run.timed_step(a.warmup + i) for i in range(a.steps)])
    loss = steps[-1][1]
    assert math.isfinite(loss), loss
    step_s = statistics.median(s for s, _ in steps)
    tokens_per_s = a.batch * a.seq / step_s
    fpt = flops_per_token(c, a.seq)
    peak = a.peak_flops or (datasheet_peak(device_name) if a.device.type == "cuda" and a.dtype == "bf16" else None)
    emit({**record, **memory, "preset": c["name"], "device_name": device_name, "attention": attention_kind(),
          "params": run.n_params, "flops_per_token": fpt, "step_ms": round(step_s * 1e3, 3),
          "tokens_per_s": round(tokens_per_s, 1), "warmup_s": round(warmup_s, 2), "loss": round(loss, 4),
          "peak_flops": peak, "mfu": fpt * tokens_per_s / peak if peak else None,
          "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
