#!/usr/bin/env python3
"""Turns signet_bench's results.json into docs/benchmarks.md (ratios, the
the targets of docs/architecture.md met or not, the machine) and a gnuplot PNG of throughput
and p99 against concurrency. Run by scripts/bench.

  report.py RESULTS_JSON MARKDOWN_OUT PNG_OUT [--wall SECONDS] [--load "1.0 ..."]
            [--other-cpu SECONDS --cpus N]

It replaces only its own blocks of MARKDOWN_OUT, each between
"<!-- report.py: begin NAME -->" and "<!-- report.py: end NAME -->" (a
block not yet in the file is added at its end), and keeps everything else:
the hand-written sections of the parts that are not in the full run. A full
run writes the blocks head (machine, targets), tsa, throughput (with the
PNG) and overhead; a run of `signet_bench --only overhead` only the
overhead block (issue #20's table) and no PNG.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import tempfile


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        softhsm = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "softhsm2"],
                                 capture_output=True, text=True).stdout or "unknown"
    except OSError:
        softhsm = "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "softhsm": softhsm,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


class Points:
    def __init__(self, points):
        self.points = points

    def find(self, closed=True, **match):
        out = []
        for p in self.points:
            if closed and p["target_per_second"] != 0:
                continue
            if not closed and p["target_per_second"] == 0:
                continue
            if all(p[k] == v for k, v in match.items()):
                out.append(p)
        return sorted(out, key=lambda p: p["concurrency"])

    def at(self, concurrency, **match):
        for p in self.find(**match):
            if p["concurrency"] == concurrency:
                return p
        return None

    def peak(self, **match):
        found = self.find(**match)
        return max(found, key=lambda p: p["per_second"]) if found else None


def fmt_rate(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def fmt_us(x):
    return f"{x / 1000:,.1f} ms" if x >= 1000 else f"{x:,.0f} µs"


def ratio(a, b):
    return a / b if b else float("nan")


def begin(name):
    return f"<!-- report.py: begin {name} -->"


def end(name):
    return f"<!-- report.py: end {name} -->"


def splice(path, blocks):
    """Writes each block between its markers in `path`, keeping the rest."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    for name, body in blocks.items():
        new = f"{begin(name)}\n{body.rstrip()}\n{end(name)}"
        pattern = re.compile(re.escape(begin(name)) + r".*?" + re.escape(end(name)), re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: new, text, count=1)
        else:
            text = text.rstrip("\n") + ("\n\n" if text else "") + new + "\n"
    with open(path, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def machine_lines(args, m):
    """Date, load and the other processes' CPU share of this run."""
    lines = [f"- CPU: {m['cpu']}, {m['cores']} cores; kernel {m['kernel']}; SoftHSM2 {m['softhsm']}",
             f"- Date: {m['date']}; wall-clock time of the run: {args.wall:.0f} s"]
    if args.load:
        # Before the run, so it includes scripts/bench's own build.
        lines.append(f"- Load average before the run (including the build of the bench): {args.load}")
    if args.other_cpu is not None and args.cpus and args.wall:
        # Clock-tick rounding can make a near-zero figure slightly negative.
        other = max(args.other_cpu, 0)
        share = other / (args.wall * args.cpus)
        lines.append(f"- CPU used by other processes while the bench ran: {other:.0f} s "
                     f"of {args.wall * args.cpus:.0f} s ({share:.1%})")
        if share > 0.05:
            lines.append("- **The machine was not idle**: other work shared its cores during the "
                         "run; the figures are rough, and only a run on an idle machine settles a "
                         "target.")
    return lines


def overhead_block(results, args, m):
    """Issue #20's table, as signet_bench's overhead part measured it."""
    rows = results.get("targets", [])
    out = ["## Signet's own cost (issue #20)\n",
           "Written by `scripts/bench` from `signet_bench`'s overhead part "
           "(`tests/bench/overhead_bench.h`; alone: `scripts/bench --only overhead`, about 1.5 "
           "minutes). One signetd (`max_in_flight: 2`, token `bench` in SoftHSM2, in process), "
           "the client on the same cores.\n",
           "- **CPU per call beyond the token**: signetd's CPU time (`/proc/<pid>/stat`) over a "
           "closed-loop span (warm-up included, 16 calls in flight) ÷ the calls completed, less "
           "the token's CPU per operation: the bench process's own CPU time over a raw "
           "`C_SignInit`+`C_Sign` (or `C_DecryptInit`+`C_Decrypt`) run of 2 threads on the same "
           "token and keys, just before, ÷ its operations.",
           "- **CPU per MiB**: calls one at a time for at least 2 s at 1 KiB, 1 MiB and 16 MiB "
           "(CPU per call exact: no call straddles the span); (CPU per call at N MiB − at 1 KiB) "
           "÷ (N MiB − 1 KiB). SignMail and VerifyMail with P-256, EncryptMail to and DecryptMail "
           "with the RSA-2048 key `decrypt`; MiB of the mail (DecryptMail's input is ≈ 1.37× "
           "that, base64).",
           "- **Peak memory per call**: signetd's peak RSS (`VmHWM`, reset through "
           "`/proc/<pid>/clear_refs`) during one call of a 50 MiB mail, over its RSS just before, "
           "÷ the mail (as `signetd_large_mail_test` measures it).",
           "- **p99 ÷ p50**: open loop at 70% of the highest rate of the closed-loop points at "
           "4, 16 and 64 calls in flight; **÷ raw**: that rate ÷ raw `C_Sign` with 2 threads.",
           "- **In process**: `CMS_sign` + `SMIME_write_CMS` of the 1 KiB mail with the "
           "`EVP_PKEY` of Signet's provider over its token layer, opened as signetd opens a "
           "SoftHSM token (no ECDSA signature check, D19) ÷ the same with libp11's, 2 threads "
           "each, signetd idle.",
           ] + machine_lines(args, m) + ["",
           "| measure | target | measured | met |",
           "|---|---|---|---|"]
    for r in rows:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        out.append(f"| {r['measure']} | {r['target']} | {r['measured']} | {met} |")
    if not rows:
        out.append("| (no overhead part in this run) | | | |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("markdown")
    ap.add_argument("png")
    ap.add_argument("--wall", type=float, default=0)
    ap.add_argument("--load", default="")
    # CPU time that processes other than the bench and what it started used
    # while it ran, and the machine's CPU count: scripts/bench reads them
    # from /proc/stat and the bench's own rusage.
    ap.add_argument("--other-cpu", type=float, default=None)
    ap.add_argument("--cpus", type=int, default=0)
    args = ap.parse_args()
    with open(args.results) as f:
        results = json.load(f)
    s = results["settings"]
    P = Points(results["points"])
    m = machine()
    blocks = {}
    if results.get("targets"):
        blocks["overhead"] = overhead_block(results, args, m)
    if not P.find(impl="raw", op="sign", token="bench"):
        # A part alone (--only overhead): the full run's blocks stay as they are.
        splice(args.markdown, blocks)
        return
    signet_mail = dict(impl="signet", transport="unix", op="SignMail", token="bench", mail_bytes=1024)
    raw_sign = dict(impl="raw", op="sign", token="bench")

    targets = []  # (measure, target, measured text, met)

    def target(measure, goal_text, value, goal, text):
        if not text:  # no point measured for it
            targets.append((measure, goal_text, "not measured", None))
            return
        targets.append((measure, goal_text, text, value >= goal))

    for alg, goal in (("RSA-2048", 0.9), ("P-256", 0.5)):
        sig = P.peak(algorithm=alg, **signet_mail)
        raw = P.peak(algorithm=alg, **raw_sign)
        r = ratio(sig["per_second"], raw["per_second"])
        target(f"{alg} CMS sign over gRPC (SignMail 1 KiB, unix) ÷ raw `C_Sign`, peak vs peak",
               f"≥ {goal:.0%}", r, goal,
               f"{r:.0%} ({fmt_rate(sig['per_second'])} vs {fmt_rate(raw['per_second'])}/s)")
    sig = P.peak(impl="signet", transport="unix", op="DecryptMail", token="bench")
    raw = P.peak(impl="raw", op="decrypt", token="bench")
    r = ratio(sig["per_second"], raw["per_second"])
    target("RSA-2048 CMS decrypt over gRPC ÷ raw `C_Decrypt`", "≥ 90%", r, 0.9,
           f"{r:.0%} ({fmt_rate(sig['per_second'])} vs {fmt_rate(raw['per_second'])}/s)")
    for alg in ("RSA-2048", "RSA-3072", "P-256"):
        parts, worst = [], float("inf")
        # token "bench": the overhead part's in-process points are its own.
        for p in P.find(impl="libp11", algorithm=alg, token="bench"):
            sp = P.at(p["concurrency"], algorithm=alg, **signet_mail)
            if sp:
                r = ratio(sp["per_second"], p["per_second"])
                worst = min(worst, r)
                parts.append(f"c={p['concurrency']}: {r:.2f}×")
        target(f"{alg}: Signet ÷ libp11 + `CMS_sign` in process, same concurrency", "≥ 1.0×",
               worst, 1.0, ", ".join(parts))
    for alg, goal in (("RSA-2048", 9), ("P-256", 50), ("RSA-3072", None)):
        parts, worst = [], float("inf")
        for p in P.find(impl="openssl-cli", algorithm=alg, token="bench"):
            sp = P.at(p["concurrency"], algorithm=alg, **signet_mail)
            if sp:
                r = ratio(sp["per_second"], p["per_second"])
                worst = min(worst, r)
                parts.append(f"c={p['concurrency']}: {r:.1f}× (CLI {fmt_us(p['p50_us'])} a message)")
        if goal is None:
            targets.append((f"{alg}: Signet ÷ `openssl cms -sign -engine pkcs11`, same parallelism",
                            "(no target)", ", ".join(parts), None))
        else:
            target(f"{alg}: Signet ÷ `openssl cms -sign -engine pkcs11`, same parallelism",
                   f"≥ {goal}×", worst, goal, ", ".join(parts))
    parts, worst = [], float("inf")
    for p in P.find(impl="signet", op="SignMail", token="bench-many"):
        base = P.at(p["concurrency"], algorithm="RSA-2048", **signet_mail)
        r = ratio(p["per_second"], base["per_second"])
        worst = min(worst, r)
        parts.append(f"c={p['concurrency']}: {r:.0%}")
    target("10,000 objects on the token vs 12 (Signet SignMail RSA-2048)", "≥ 95%", worst, 0.95,
           ", ".join(parts))
    parts, worst = [], float("inf")
    for c in (16, 64):
        one = P.at(c, impl="signet", token="lat-0")
        eight = P.at(c, impl="signet", token="lat-0..7")
        if one and eight:
            r = ratio(eight["per_second"], one["per_second"])
            worst = min(worst, r)
            parts.append(f"c={c}: {r:.2f}× ({fmt_rate(eight['per_second'])} vs "
                         f"{fmt_rate(one['per_second'])}/s)")
    target("8 tokens with 50 ms `C_Sign` each vs 1", "≥ 7.5×", worst, 7.5, ", ".join(parts))
    for alg in ("RSA-2048", "P-256", "RSA-3072"):
        open_loop = P.find(closed=False, algorithm=alg, **signet_mail)
        if open_loop:
            p = open_loop[0]
            r = ratio(p["p99_us"], p["p50_us"])
            targets.append((f"{alg}: p99 at 70% of peak ({fmt_rate(p['target_per_second'])}/s offered, "
                            f"{fmt_rate(p['per_second'])}/s done)", "≤ 2× p50",
                            f"p50 {fmt_us(p['p50_us'])}, p99 {fmt_us(p['p99_us'])}: {r:.2f}×",
                            r <= 2.0))
    for alg in ("RSA-2048", "P-256", "RSA-3072"):
        peak = P.peak(algorithm=alg, **signet_mail)
        high = [p for p in P.find(algorithm=alg, **signet_mail) if p["concurrency"] >= 16]
        worst = min(ratio(p["per_second"], peak["per_second"]) for p in high)
        target(f"{alg}: requests per second at 16–256 clients ÷ peak", "≥ 95%", worst, 0.95,
               ", ".join(f"c={p['concurrency']}: {ratio(p['per_second'], peak['per_second']):.0%}"
                         for p in high))
    parts, worst = [], 0.0
    for p in P.find(impl="signet", op="VerifyMail", token="crl-hot"):
        base = P.at(p["concurrency"], impl="signet", op="VerifyMail", token="revocation-off")
        if base and base["server_cpu_seconds_per_1000"] > 0:
            r = ratio(p["server_cpu_seconds_per_1000"], base["server_cpu_seconds_per_1000"])
            worst = max(worst, r)
            parts.append(f"c={p['concurrency']}: {r:.2f}× ({p['server_cpu_seconds_per_1000']:.2f} vs "
                         f"{base['server_cpu_seconds_per_1000']:.2f} CPU s / 1,000)")
    if parts:
        requests = s.get("verify_crl_requests_measured", -1)
        parts.append(f"CRL requests while measured: {requests:.0f}")
        targets.append(("VerifyMail signetd CPU per call, revocation required with a hot CRL cache "
                        f"(2 CRLs of {s.get('verify_crl_revoked_entries', 0):.0f} entries) ÷ "
                        "revocation off", "≤ 1.10×", ", ".join(parts),
                        worst <= 1.10 and requests == 0))
    else:
        targets.append(("VerifyMail signetd CPU per call, hot CRL cache ÷ revocation off",
                        "≤ 1.10×", "not measured", None))
    steady = P.at(16, algorithm="RSA-2048", **signet_mail)
    calls = steady["pkcs11_calls_per_request"] if steady else {}
    extra = {k: v for k, v in calls.items() if k not in ("C_SignInit", "C_Sign")}
    ok = (abs(calls.get("C_SignInit", 0) - 1) < 0.01 and abs(calls.get("C_Sign", 0) - 1) < 0.01
          and not any(k in extra for k in ("C_Login", "C_OpenSession", "C_FindObjectsInit",
                                            "C_FindObjects")))
    targets.append(("PKCS#11 calls per request, steady state (SignMail RSA-2048, c=16)",
                    "1 `C_SignInit` + 1 `C_Sign`, no login/find/open",
                    ", ".join(f"{k} {v:.3f}" for k, v in sorted(calls.items())) or "none", ok))

    out = []
    w = out.append
    w("# Benchmarks\n")
    w("Written by `scripts/bench` (issue #7) from one run of `signet_bench`; every figure below "
      "was measured in that run, side by side on the same tokens and keys. Targets: [architecture.md, "
      "\"Performance targets\"](architecture.md#performance-targets). Where the time goes, and what the gaps come from: "
      "[performance.md](performance.md).\n")
    w("## Machine and run\n")
    w(f"- CPU: {m['cpu']}, {m['cores']} cores; kernel {m['kernel']}; SoftHSM2 {m['softhsm']}")
    w(f"- Date: {m['date']}; wall-clock time of `scripts/bench`'s run: "
      f"{args.wall:.0f} s (of which token set-up {s.get('setup_seconds', 0):.0f} s)")
    if args.load:
        # Before the run, so it includes scripts/bench's own build.
        w(f"- Load average before the run (including the build of the bench): {args.load}")
    if args.other_cpu is not None and args.cpus and args.wall:
        # Clock-tick rounding can make a near-zero figure slightly negative.
        other = max(args.other_cpu, 0)
        share = other / (args.wall * args.cpus)
        w(f"- CPU used by other processes while the bench ran: {other:.0f} s "
          f"of {args.wall * args.cpus:.0f} s ({share:.1%})")
        if share > 0.05:
            w("- **The machine was not idle**: other work shared its cores during the run, so "
              "baselines and Signet, measured minutes apart, may have met different loads; "
              "ratios from such a run are rough, and only a run on an idle machine settles a "
              "target.")
    w(f"- Each point: {s['warmup_ms']:.0f} ms warm-up, then {s['measure_ms']:.0f} ms measured; "
      f"closed loop (N callers, each starting its next request when the last ends) except the "
      f"70%-of-peak points (open loop at a fixed rate, latency from the due time). signetd: "
      f"`max_in_flight: {s['signetd_max_in_flight']:.0f}` per token, the load generator "
      f"(gRPC callback API, 4 connections) on the same machine, sharing its cores.")
    w("- Raw ceiling: `C_SignInit`+`C_Sign` (`CKM_RSA_PKCS` over a SHA-256 DigestInfo, "
      "`CKM_ECDSA`), `C_DecryptInit`+`C_Decrypt` (SoftHSM has no OAEP with SHA-256, so "
      "`CKM_RSA_X_509` as Signet then uses), one session per worker, handles cached.")
    w("- libp11: `CMS_sign` + `SMIME_write_CMS` (detached, 1 KiB mail) with libp11's `EVP_PKEY`, "
      "N threads in one process. openssl CLI: `openssl cms -sign -engine pkcs11`, one process "
      "per message, N at a time; run in parallel, some of those processes cannot use the token "
      "(libp11: \"Failed to enumerate slots\", \"Login failed\", \"No matching initialized "
      "token\") and then crash at exit: they are in the errors column, not in the rate.")
    w(f"- The 12-object token `bench` is alone in its SoftHSM installation; the 10,000-object token "
      f"(in another, served by a signetd of its own) is compared with it. The latency run uses {s['latency_tokens']:.0f} tokens behind the fault-injecting "
      f"module (`SIGNET_FAULT_LATENCY=C_Sign={s['latency_c_sign_us']:.0f}`), `max_in_flight: 1` each.\n")
    w("## Targets\n")
    w("| measure | target | measured | met |")
    w("|---|---|---|---|")
    for measure, goal, text, met in targets:
        w(f"| {measure} | {goal} | {text} | {'—' if met is None else ('yes' if met else '**no**')} |")
    w("")
    blocks["head"] = "\n".join(out)
    out.clear()
    stamps = P.find(impl="signet", op="Timestamp")
    if stamps:
        # tests/bench/tsa_bench.cc: each pair measured one right after the
        # other on the same daemon and token.
        w("## signetd as a time-stamping authority (issue #17): the full run\n")
        w("Stamps per second over gRPC `Timestamp` (unix socket) against raw `C_Sign` of the TSA's "
          "own key (P-256, token `bench`), each concurrency measured right after the other.\n")
        w("| concurrency | raw `C_Sign` | stamps | stamps ÷ raw | stamp p99 | signetd CPU s / 1,000 stamps |")
        w("|---|---|---|---|---|---|")
        for p in stamps:
            raw = P.at(p["concurrency"], impl="raw", op="sign", token="bench/tsa")
            w(f"| {p['concurrency']} | {fmt_rate(raw['per_second']) if raw else ''} | "
              f"{fmt_rate(p['per_second'])} | {ratio(p['per_second'], raw['per_second']) if raw else float('nan'):.1%} | "
              f"{fmt_us(p['p99_us'])} | {p['server_cpu_seconds_per_1000']:.2f} |")
        w("")
        w("SignMail of a 1 KiB mail, P-256, with and without `timestamp`, the stamp from the same "
          "signetd's TSA over HTTP on loopback (`TIMESTAMP_REQUIRED`); pairs in the order run.\n")
        w("| concurrency | p50 without → with | p99 without → with | req/s without → with | "
          "signetd CPU s / 1,000 without → with |")
        w("|---|---|---|---|---|")
        plain = [p for p in results["points"] if p["token"] == "bench/unstamped"]
        stamped = [p for p in results["points"] if p["token"] == "bench/stamped"]
        for a, b in zip(plain, stamped):
            w(f"| {a['concurrency']} | {fmt_us(a['p50_us'])} → {fmt_us(b['p50_us'])} | "
              f"{fmt_us(a['p99_us'])} → {fmt_us(b['p99_us'])} | "
              f"{fmt_rate(a['per_second'])} → {fmt_rate(b['per_second'])} | "
              f"{a['server_cpu_seconds_per_1000']:.2f} → {b['server_cpu_seconds_per_1000']:.2f} |")
        w("")
        blocks["tsa"] = "\n".join(out)
        out.clear()
    w("## Throughput and p99 against concurrency (signing)\n")
    w("Requests per second (p99). Signet: SignMail of a 1 KiB mail over the unix socket.\n")
    header = "| concurrency |"
    cols = []
    for alg in ("RSA-2048", "RSA-3072", "P-256"):
        cols.append((f"raw {alg}", dict(algorithm=alg, **raw_sign)))
        cols.append((f"Signet {alg}", dict(algorithm=alg, **signet_mail)))
        cols.append((f"Signet ÷ raw", None))
    w(header + "".join(f" {c[0]} |" for c in cols))
    w("|---|" + "---|" * len(cols))
    for c in (1, 2, 4, 16, 64, 256):
        row = f"| {c} |"
        last = {}
        for name, match in cols:
            if match is None:
                row += f" {ratio(last['signet']['per_second'], last['raw']['per_second']):.0%} |" \
                    if last.get("raw") and last.get("signet") else " |"
                continue
            p = P.at(c, **match)
            last["raw" if name.startswith("raw") else "signet"] = p
            row += f" {fmt_rate(p['per_second'])} ({fmt_us(p['p99_us'])}) |" if p else " |"
        w(row)
    w("")
    w("## Every point\n")
    w("| impl | transport | op | key | token | bytes | c | req/s | p50 | p90 | p99 | p99.9 | errors | "
      "signetd CPU s / 1,000 | signetd peak RSS | PKCS#11 calls / request |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in results["points"]:
        c = str(p["concurrency"]) + (f" @{fmt_rate(p['target_per_second'])}/s" if p["target_per_second"] else "")
        cpu = f"{p['server_cpu_seconds_per_1000']:.2f}" if p["server_cpu_seconds_per_1000"] >= 0 else ""
        rss = f"{p['server_peak_rss_kib'] / 1024:.0f} MiB" if p["server_peak_rss_kib"] >= 0 else ""
        calls = ", ".join(f"{k.replace('C_', '')} {v:.3g}" for k, v in sorted(p["pkcs11_calls_per_request"].items()))
        first = " / ".join(line for line in p["first_error"].splitlines() if line).replace("|", "/")
        err = f"{p['errors']}" + (f" ({first[:90]})" if p["errors"] else "")
        w(f"| {p['impl']} | {p['transport']} | {p['op']} | {p['algorithm']} | {p['token']} | "
          f"{p['mail_bytes']} | {c} | {fmt_rate(p['per_second'])} | {fmt_us(p['p50_us'])} | "
          f"{fmt_us(p['p90_us'])} | {fmt_us(p['p99_us'])} | {fmt_us(p['p999_us'])} | {err} | {cpu} | {rss} | {calls} |")
    w("")
    w(f"![throughput and p99 against concurrency]({os.path.basename(args.png)})\n")
    blocks["throughput"] = "\n".join(out)
    # The head first, issue #20's table right after it, the rest in place.
    splice(args.markdown, {k: blocks[k] for k in ("head", "overhead", "tsa", "throughput")
                           if k in blocks})

    # The plot: throughput (left) and p99 (right) against concurrency.
    with tempfile.TemporaryDirectory() as tmp:
        series = []
        for alg in ("RSA-2048", "RSA-3072", "P-256"):
            for label, match in ((f"raw {alg}", dict(algorithm=alg, **raw_sign)),
                                 (f"Signet {alg}", dict(algorithm=alg, **signet_mail))):
                path = os.path.join(tmp, f"{len(series)}.dat")
                with open(path, "w") as f:
                    for p in P.find(**match):
                        f.write(f"{p['concurrency']} {p['per_second']} {p['p99_us'] / 1000}\n")
                series.append((label, path))
        plots = lambda col: ", ".join(f"'{path}' using 1:{col} with linespoints title '{label}'"
                                      for label, path in series)
        script = f"""set terminal pngcairo size 1000,380 font ',9' noenhanced
set output '{args.png}'
set multiplot layout 1,2
set logscale x 2
set xlabel 'concurrent callers'
set key outside bottom center horizontal maxrows 2
set logscale y
set ylabel 'requests per second'
set title 'throughput'
plot {plots(2)}
set ylabel 'p99 latency (ms)'
set title 'p99 latency'
plot {plots(3)}
unset multiplot
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


if __name__ == "__main__":
    main()
