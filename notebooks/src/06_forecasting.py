# %% [markdown]
# # 6 · Forecasting a real time series
#
# ## What you will learn
#
# - how to turn one long series into a supervised problem: sliding windows of past values and the value that
#   follows;
# - how to split in *time* and standardise without peeking at the test years;
# - the forecaster: a GRU reads the window, a linear map on its last state predicts the next value;
# - how to judge a forecast honestly, against the strong baselines as well as the naive ones, over seeds;
# - two ways to look further ahead, recursive (the model fed its own predictions: exposure bias) and direct (a
#   model trained on every lead time), measured against lead time.
#
# The data: monthly sea surface temperature of the Niño 3.4 region of the equatorial Pacific, 1950–2010 (NOAA,
# public domain, shipped with minirnn). It has a yearly cycle and the irregular swings of El Niño and La Niña.

# %%
import os

# One BLAS thread: the matrices here are small, and on a busy 2-core machine OpenBLAS's threads spin and wait
# on each other, which made these notebooks up to 30x slower. This must run before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The test suite sets MINIRNN_SMALL=1: the same code on tiny sizes, so that every notebook runs in seconds.
SMALL = os.environ.get("MINIRNN_SMALL", "0") not in ("", "0")

%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from minirnn import optim, tasks
from minirnn.models import (Forecaster, LinearAR, anomaly_forecast, autocorrelation, climatology,
                            recursive_forecast, rmse_by_lead)
from minirnn.losses import mse
from minirnn.train import fit, plot_history

from minirnn.analysis import style  # noqa: E402

style.use()                                             # house style: 150 dpi, text >= 10 pt, rendered math
np.set_printoptions(precision=3, linewidth=110)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full")

# %% [markdown]
# ## 1. The series, split in time
#
# A forecast is judged on the future, so the last 20% of the months (1998–2010) are held out, and everything
# the model learns, including the mean and standard deviation used to standardise the series, comes from the
# months before.

# %%
years, sst = tasks.nino_sst("3.4")                      # (732,) years, (732,) degrees C
split = int(round(len(sst) * 0.8))
mean, std = sst[:split].mean(), sst[:split].std()       # from the training years only
z = (sst - mean) / std                                  # standardised series
print(f"{len(sst)} months, {years[0]:.0f}-{int(years[-1])}; training up to {years[split - 1]:.2f}, "
      f"mean {mean:.2f} C, std {std:.2f} C")

fig, ax = plt.subplots(figsize=(11, 3.2))
ax.plot(years[:split], sst[:split], lw=1, label="training years")
ax.plot(years[split:], sst[split:], lw=1, color="tab:orange", label="held-out years")
ax.set(xlabel="year", ylabel="SST (°C)", title="Niño 3.4 monthly sea surface temperature")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. Windows
#
# `tasks.make_windows(series, window=T)` cuts the series into overlapping windows of $T$ months (the input)
# and the month that follows each (the target), time-major like every minirnn layer: inputs `(T, N, 1)`,
# targets `(1, N, 1)`. The test windows may reach back into the training years for their *inputs*, but every
# *target* is a held-out month.

# %%
T = 24                                                  # two years of context
x_train, y_train = tasks.make_windows(z[:split], T)
x_test, y_test = tasks.make_windows(z[split - T:], T)
print("train: inputs", x_train.shape, " targets", y_train.shape)
print("test : inputs", x_test.shape, " targets", y_test.shape, f" (the {y_test.shape[1]} held-out months)")

# %% [markdown]
# ## 3. The model and its training
#
# `Forecaster("gru", 1, H)` is a GRU over the window and a linear map on its last output:
# $\hat z_{t+1} = h_{T-1} W^\top + b$. Loss: mean squared error on the standardised scale (multiply by
# $\text{std}^2$ for degrees squared). Each step draws 32 random training windows; six times during the run
# the held-out windows are scored on the same scale.

# %%
H, steps = (8, 30) if SMALL else (32, 600)
model = Forecaster("gru", 1, H, seed=0)
print(model, f"  {model.num_parameters():,} parameters")


def train_step(model, rng, step, carry):
    idx = rng.integers(0, x_train.shape[1], size=32)    # a batch of random windows
    loss, dy = mse(model(x_train[:, idx]), y_train[:, idx])
    model.backward(dy)
    return loss, float("nan"), None


def evaluate(model):
    return {"test_mse": mse(model(x_test), y_test)[0]}  # on the standardised scale, like the training loss


SEEDS = 2 if SMALL else 5
models, histories = [], []
for seed in range(SEEDS):                               # the same run over seeds: one seed is an anecdote
    m = model if seed == 0 else Forecaster("gru", 1, H, seed=seed)
    histories.append(fit(m, optim.Adam(m, lr=3e-3), train_step, steps, rng=np.random.default_rng(seed),
                         evaluate=evaluate, eval_every=max(1, steps // 6), clip_norm=1.0, progress=False))
    models.append(m)
history = histories[0]
fig = plot_history(history, title="GRU forecaster, one month ahead (seed 0)")
plt.show()

# %% [markdown]
# ## 4. Prediction against truth
#
# Baselines any forecast must beat: **persistence** (next month = this month), **climatology** (next month =
# the average of that calendar month over the training years), **climatology + persisted anomaly** (next
# month's climatology plus this month's departure from its own), and a **linear autoregression AR(24)**: the
# next value as a least-squares linear function of the same 24 months the GRU sees,
# $\hat z_{t+1} = c + \sum_{k=0}^{23} a_k z_{t-k}$ (25 parameters, fitted on the training windows). The GRU is
# scored over 5 seeds.

# %%
model.eval()
pred = model(x_test)[0, :, 0] * std + mean              # (N,) degrees C
truth = y_test[0, :, 0] * std + mean
persistence = x_test[-1, :, 0] * std + mean             # the last month of each window
month = np.arange(len(sst)) % 12                        # the series starts in January 1950
climate = climatology(sst[:split])                      # (12,) each calendar month's mean, training years
climatology_1 = climate[month[split:]]
clim_anomaly = anomaly_forecast(persistence, month[split - 1:-1], climate, 1)[0]   # + this month's anomaly

ar = LinearAR(24).fit(x_train, y_train)                 # least squares on the training windows only
ar_pred = ar(x_test)[0, :, 0] * std + mean

rmse = lambda a: float(np.sqrt(np.mean((a - truth) ** 2)))  # noqa: E731
gru_rmse = np.array([rmse(m(x_test)[0, :, 0] * std + mean) for m in models])
print(f"one month ahead, RMSE on {len(truth)} held-out months (degrees C):")
print(f"  GRU (H = {H}, {model.num_parameters():,} parameters), {SEEDS} seeds: "
      f"median {np.median(gru_rmse):.3f} [{gru_rmse.min():.3f}, {gru_rmse.max():.3f}]")
for name, value in ((f"AR(24), least squares, {ar.num_parameters()} parameters", ar_pred),
                    ("climatology + persisted anomaly", clim_anomaly), ("persistence", persistence),
                    ("climatology", climatology_1)):
    print(f"  {name:<38} {rmse(value):.3f}")

# %%
fig, ax = plt.subplots(figsize=(11, 4))
t_test = years[split:]
ax.plot(t_test, truth, color="black", lw=1.6, label="truth")
ax.plot(t_test, pred, color=style.color("gru"), lw=1.4,
        label=f"GRU, one month ahead (RMSE {rmse(pred):.2f} °C)")
ax.plot(t_test, persistence, color="tab:gray", lw=1, ls="--",
        label=f"persistence: same as last month (RMSE {rmse(persistence):.2f} °C)")
ax.plot(t_test, ar_pred, color="tab:purple", lw=1, ls=":",
        label=f"AR(24), least squares (RMSE {rmse(ar_pred):.2f} °C)")
ax.set(xlabel="year", ylabel="SST (°C)", title="Niño 3.4 SST, held-out years: prediction vs truth")
ax.legend(loc="upper left")
plt.show()

# %% [markdown]
# ## 5. Looking further ahead: recursive against direct
#
# There are two ways to forecast $k$ months ahead.
#
# - **Recursive**: take the one-step model above and feed it its own predictions: append $\hat z_{t+1}$ to the
#   window, drop the oldest value, predict $\hat z_{t+2}$, and so on (`recursive_forecast(model, x, 12)`). The
#   model was trained on *true* windows only (teacher forcing) and is now fed its *own* outputs, errors
#   included: inputs unlike any it was trained on, and each error becomes part of the next input. This
#   mismatch between training and use is **exposure bias** (Bengio et al. 2015, who propose *scheduled
#   sampling*: during training, feed the model its own predictions with a growing probability).
# - **Direct**: train a model on all 12 lead times at once. `Forecaster("gru", 1, H, horizon=12)` has the same
#   GRU and a linear map from its last state to 12 numbers, $\hat z_{t+1..t+12} = h_{T-1} W^\top + b$, trained
#   on the targets of `make_windows(..., horizon=12)` with the MSE averaged over the 12 leads. It never reads
#   its own outputs, so it has no exposure bias; instead every lead gets a share of the same 32 hidden units.
#
# The same holds for the least-squares AR(24): iterated one step at a time (recursive), or one least-squares
# fit per lead (direct, `LinearAR(24, horizon=12)`, $12 \times 25$ parameters). And for the climatological
# baselines, $k$ months ahead: **climatology** of the target month; climatology + the last month's anomaly
# **persisted** unchanged; and **damped**: the anomaly times $\rho_k$, the lag-$k$ autocorrelation of the
# training years' anomalies (the best linear forecast of the anomaly $k$ months ahead from this month's
# anomaly alone).
#
# All are scored on the same held-out forecasts: every window whose 12 following months are all held-out
# months, so each lead time is averaged over the same 1-12 month starts. The GRUs: 5 seeds each, the same
# size, optimiser and number of steps as above.

# %%
K = 12
xk_train, yk_train = tasks.make_windows(z[:split], T, horizon=K)   # (T, N, 1), (K, N, 1)
xk_test, yk_test = tasks.make_windows(z[split - T:], T, horizon=K)  # every target a held-out month
truth_k = yk_test[:, :, 0] * std + mean                             # (K, N) degrees C
print(f"{xk_test.shape[1]} held-out forecasts, each 1..{K} months ahead")


def make_train_step(x, y):
    def train_step(model, rng, step, carry):
        idx = rng.integers(0, x.shape[1], size=32)
        loss, dy = mse(model(x[:, idx]), y[:, idx])     # MSE over all the model's leads
        model.backward(dy)
        return loss, float("nan"), None
    return train_step


direct_models = []
for seed in range(SEEDS):
    m = Forecaster("gru", 1, H, horizon=K, seed=seed)
    fit(m, optim.Adam(m, lr=3e-3), make_train_step(xk_train, yk_train), steps,
        rng=np.random.default_rng(seed), clip_norm=1.0, progress=False)
    direct_models.append(m.eval())
for m in models:
    m.eval()

to_c = lambda zz: zz[:, :, 0] * std + mean                          # noqa: E731  (K, N, 1) z -> (K, N) C
gru_rec = np.array([rmse_by_lead(to_c(recursive_forecast(m, xk_test, K)), truth_k) for m in models])  # (S, K)
gru_dir = np.array([rmse_by_lead(to_c(m(xk_test)), truth_k) for m in direct_models])                  # (S, K)
ar_rec = rmse_by_lead(to_c(recursive_forecast(ar, xk_test, K)), truth_k)
ar_direct = LinearAR(24, horizon=K).fit(xk_train, yk_train)
ar_dir = rmse_by_lead(to_c(ar_direct(xk_test)), truth_k)
last_k = xk_test[-1, :, 0] * std + mean                             # (N,) the last month of each window
phase_k = month[split - 1:split - 1 + xk_test.shape[1]]            # its calendar month
rho = autocorrelation(sst[:split] - climate[month[:split]], K)     # (K,) training anomalies
baselines = {
    "climatology + persisted anomaly": rmse_by_lead(anomaly_forecast(last_k, phase_k, climate, K), truth_k),
    "climatology + damped anomaly": rmse_by_lead(anomaly_forecast(last_k, phase_k, climate, K, rho), truth_k),
    "climatology": rmse_by_lead(anomaly_forecast(last_k, phase_k, climate, K, damping=0), truth_k),
}

print(f"RMSE (degrees C) against lead time; GRUs: median [min, max] over {SEEDS} seeds")
print(f"{'lead':>4} {'GRU recursive':>20} {'GRU direct':>20} {'AR rec':>7} {'AR dir':>7} {'clim+pers':>9} "
      f"{'clim+damp':>9} {'clim':>6}")
for k in range(K):
    band = lambda r: f"{np.median(r[:, k]):.3f} [{r[:, k].min():.3f}, {r[:, k].max():.3f}]"  # noqa: E731
    pers, damp, clim = (baselines[name][k] for name in baselines)
    print(f"{k + 1:>4} {band(gru_rec):>20} {band(gru_dir):>20} {ar_rec[k]:7.3f} {ar_dir[k]:7.3f} "
          f"{pers:9.3f} {damp:9.3f} {clim:6.3f}")
leads = np.arange(1, K + 1)
better = np.median(gru_dir, 0) < np.median(gru_rec, 0)
every = gru_dir.max(0) < gru_rec.min(0)
print("direct GRU's median below the recursive GRU's at leads", leads[better].tolist())
print("every direct seed below every recursive seed at leads", leads[every].tolist(),
      "; the reverse at leads", leads[gru_rec.max(0) < gru_dir.min(0)].tolist())
rivals = {"GRU recursive": np.median(gru_rec, 0), "GRU direct": np.median(gru_dir, 0),
          "AR(24) recursive": ar_rec, "AR(24) direct": ar_dir, **baselines}
best = [min(rivals, key=lambda name: rivals[name][k]) for k in range(K)]
winners = {name: [int(k) for k, b in zip(leads, best) if b == name] for name in rivals if name in best}
print("lowest RMSE (GRUs by their median) at leads:", "; ".join(f"{n} {ks}" for n, ks in winners.items()))
print("climatology's RMSE minus the lowest (GRUs by their median), per lead:",
      np.round(baselines["climatology"] - np.min(list(rivals.values()), axis=0), 3))

# %% tags=["readme-figure"]
fig, ax = plt.subplots(figsize=(6.2, 4.6))
gru = style.color("gru")
ax.fill_between(leads, gru_rec.min(0), gru_rec.max(0), facecolor="none", edgecolor=gru, hatch="///", lw=0,
                alpha=0.6)
ax.fill_between(leads, gru_dir.min(0), gru_dir.max(0), color=gru, alpha=0.25, lw=0)
for r, name, ls, marker in ((gru_rec, "GRU recursive, median (hatched: range", "--", "o"),
                            (gru_dir, "GRU direct, median (shaded: range", "-", "s")):
    ax.plot(leads, np.median(r, 0), ls=ls, marker=marker, color=gru, label=f"{name} over {SEEDS} seeds)")
ax.plot(leads, ar_rec, "--o", color="tab:purple", label="AR(24), recursive")
ax.plot(leads, ar_dir, "-s", color="tab:purple", label="AR(24), direct (a fit per lead)")
for (name, r), ls, c in zip(baselines.items(), ("--", "-", ":"), ("0.35", "0.35", "black")):
    ax.plot(leads, r, ls=ls, color=c, marker="." if ls != ":" else None, label=name)
ax.set(xlabel="lead time (months)", ylabel="RMSE (°C)", xticks=leads,
       title=f"Niño 3.4 SST, {xk_test.shape[1]} held-out forecasts: error against lead time")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
plt.show()

# %% [markdown]
# One forecast from one starting month, 12 months ahead, by both GRUs (seed 0):

# %%
start = min(60, xk_test.shape[1] - 1)
shown = slice(split + start - 36, split + start + K + 6)
fig, ax = plt.subplots(figsize=(11, 3.8))
ax.plot(years[shown], sst[shown], color="black", lw=1.4, label="truth")
future = years[split + start:split + start + K]
ax.plot(future, to_c(recursive_forecast(models[0], xk_test[:, start:start + 1], K))[:, 0], "--o",
        color=style.color("gru"), label="GRU recursive")
ax.plot(future, to_c(direct_models[0](xk_test[:, start:start + 1]))[:, 0], "-s", color=style.color("gru"),
        alpha=0.6, label="GRU direct")
ax.axvline(years[split + start - 1], color="0.5", lw=1)
ax.set(xlabel="year", ylabel="SST (°C)", title=f"12 months ahead from {years[split + start - 1]:.2f}")
ax.legend(loc="upper left")
plt.show()

# %% [markdown]
# In this one forecast (one start, seed 0: an example, not a measurement) the recursive GRU settles on a nearly flat
# line after about six months, while the direct GRU still draws a seasonal rise and fall.
#
# **What the numbers show** (the printed RMSEs of the full-size run, in °C).
#
# One month ahead (section 4, all 146 held-out months): the GRU, median 0.233 over 5 seeds (range 0.227 to
# 0.238), beats persistence (0.368), climatology (0.813) and climatology + persisted anomaly (0.251), but
# **not** the least-squares AR(24) on the same 24 months (0.220): every seed is above it. At this size and
# budget the GRU has not learned more than a linear model with 25 parameters.
#
# Against lead time (the table and figure, 135 forecasts each 1-12 months ahead):
#
# - **Recursive against direct GRU.** At lead 1 the one-step model is better (0.231 [0.222, 0.233] against
#   0.253 [0.234, 0.268]: every direct seed is worse; the direct model shares its 32 units among 12 leads).
#   From lead 2 on the direct model's median is lower at every lead but 7 (equal to three decimals at 6), but
#   the seed ranges overlap up to lead 9; only at leads 10-12 is every direct seed better than every recursive
#   one (lead 12: 0.757 [0.715, 0.825] against 0.878 [0.849, 0.928]). The recursive GRU's median is above
#   climatology's error from lead 8 on, while the direct GRU levels off near 0.75.
# - **The same comparison for AR(24)** shows little: direct 0.839 against recursive 0.856 at lead 12, and even
#   the direct AR, which never reads its own output, is above climatology from lead 7 on. So an error above
#   climatology at long leads is not only exposure bias: least-squares fits on 1950-1998 carry over poorly to
#   1998-2010 that far ahead.
# - Exposure bias predicts a recursive model whose error grows faster than that of a direct model trained on
#   the same data. For the GRU that is what these runs show at leads 10-12, on every seed. They do not isolate
#   the cause: the direct GRU also differs in its loss (the mean over 12 leads) and its head.
# - **The strongest baseline is the simplest one that uses both the season and the anomaly's memory**:
#   climatology + damped anomaly (the anomaly times $\rho_k$; 24 numbers computed from the training years, no
#   optimisation) has the lowest RMSE at leads 2-4 and 6-9, below both GRUs' medians. At lead 1 the AR(24) is
#   lowest (0.221 direct, 0.222 recursive). The direct GRU's median is lowest at leads 5 and 10-12 (at 12:
#   0.757 against 0.799 damped and 0.790 climatology), but its worst seed (0.825) is above climatology there.
# - Persisting the anomaly *undamped* is worse than climatology alone from lead 6 on (1.059 at lead 12): an El
#   Niño does not last for ever. From lead 9 on, the lowest RMSE (the GRUs by their median) is within 0.035 of
#   climatology alone's (the last line printed under the table).
#
# The held-out years (1998-2010) hold a handful of El Niño and La Niña events, so differences of a few
# hundredths of a degree between methods rest on few events; over seeds they are measured, over other decades
# they are not.
#
# ## Summary
#
# - Windows turn a series into (input, target) pairs; split in time and standardise with training statistics
#   only.
# - `Forecaster` = recurrent layer + linear map on the last step, trained with MSE.
# - Always report strong baselines (a least-squares AR on the same window, climatology + persisted and damped
#   anomaly, climatology alone) next to the model, over seeds, and the error against lead time.
# - Further ahead: a recursive forecast (`recursive_forecast`) feeds a one-step model its own predictions,
#   which it was never trained on (exposure bias); a direct model (`horizon=12`) is trained on every lead.
#   Here the direct GRU is worse one month ahead and better 10-12 months ahead, on every seed.
#
# ## Exercises
#
# 1. Train with window lengths $T = 6, 12, 48$. Which one-month-ahead RMSE is best? Which lead-time curve?
# 2. Replace the GRU by an LSTM and by a vanilla RNN (`Forecaster("lstm", ...)`). Is the difference larger
#    than the spread over three seeds of the same cell?
# 3. Forecast the *anomaly* instead (`tasks.nino_sst("3.4", anomaly=True)`): the seasonal cycle is removed.
#    Which baseline is now the one to beat?
# 4. Scheduled sampling (Bengio et al. 2015): train the one-step GRU on windows whose last few values are,
#    with a probability that grows during training, replaced by the model's own predictions. Does the
#    recursive forecast close the gap to the direct one at long leads? At lead 1?
# 5. Add the month as a second input feature (for instance $\sin$ and $\cos$ of $2\pi \cdot \text{month}/12$,
#    making 3 inputs). Does the model need less context?
