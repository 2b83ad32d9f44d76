# The peer's plain loops on Debian's PyTorch (the same LibTorch 1.13): torchcfm's tutorial
# setting, written out (torchcfm itself is not packaged): MLP of 3 hidden layers with SELU,
# batch 256, Adam 1e-3, independent coupling, sigma 0; and 10,000 points x 100 Euler steps.
# /usr/bin/python3 scripts/peer_cfm_loops.py [THREADS]   (Debian: apt-get install python3-torch)
import json, sys, time, subprocess, torch
if len(sys.argv) > 1:
    torch.set_num_threads(int(sys.argv[1]))
def mlp(w):
    return torch.nn.Sequential(torch.nn.Linear(3, w), torch.nn.SELU(), torch.nn.Linear(w, w), torch.nn.SELU(),
                               torch.nn.Linear(w, w), torch.nn.SELU(), torch.nn.Linear(w, 2))
def train(w, steps=600):
    torch.manual_seed(0); net = mlp(w); opt = torch.optim.Adam(net.parameters(), 1e-3)
    def step():
        x0 = torch.randn(256, 2); x1 = torch.randn(256, 2) + 3; t = torch.rand(256, 1)
        xt = (1 - t) * x0 + t * x1
        loss = ((net(torch.cat([xt, t], 1)) - (x1 - x0)) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    for _ in range(50): step()
    rates = []
    for _ in range(3):
        s = time.perf_counter()
        for _ in range(200): step()
        rates.append(200 / (time.perf_counter() - s))
    return sorted(rates)[1]
def sample(w):
    torch.manual_seed(0); net = mlp(w).eval(); out = []
    with torch.no_grad():
        for _ in range(3):
            x = torch.randn(10000, 2); s = time.perf_counter()
            for k in range(100):
                t = torch.full((10000, 1), k / 100.0); x = x + 0.01 * net(torch.cat([x, t], 1))
            out.append(time.perf_counter() - s)
    return sorted(out)[1]
def figures():
    return {"train_w64": train(64), "train_w256": train(256), "sample_w64_s": sample(64), "sample_w256_s": sample(256)}
result = {"threads": torch.get_num_threads(), "quiet": figures()}
busy = subprocess.Popen(["sh", "-c", "while :; do :; done"])
try:
    result["loaded"] = figures()
finally:
    busy.kill()
print(json.dumps(result))
