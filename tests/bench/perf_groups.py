#!/usr/bin/env python3
# Groups perf samples as issue #20 asks:
#   perf script -i signetd.perf -F sym,dso,ip | tests/bench/perf_groups.py [US_PER_CALL]
# (a `small_call_cpu --perf-out` recording, --call-graph dwarf); with the
# call's CPU in us, also prints each group's share of it in us.
# A sample belongs to the nearest frame, from the leaf up, that names an
# owner; kernel and libcrypto frames are owned by whoever called them
# (fdatasync by the audit log, epoll by gRPC, a digest by CMS or the token
# layer). SoftHSM anywhere in the stack, or malloc/free as the leaf, come
# first.
import re, sys, collections
ALLOC = re.compile(r'^(malloc|_int_malloc|_int_free|cfree|free|malloc_consolidate|unlink_chunk|operator new|operator delete|__GI___libc_malloc|__GI___libc_free|__libc_malloc|__libc_free|tcache_get|tcache_put|_int_realloc|realloc|calloc|CRYPTO_malloc|CRYPTO_free|CRYPTO_zalloc|CRYPTO_clear_free)')
RULES = [
    ('audit (record, chain, write, fdatasync)', re.compile(r'signet::audit::')),
    ('token layer (Signet: provider, TokenKey, sessions)', re.compile(r'signet::(Module::|TokenKey|SignatureVerifies|provider::|SessionPool|Token::|EcdsaRawToDer|.*LockModuleMutex|.*FindHeld)')),
    ('hashing and MIME', re.compile(r'SplitMail|JoinMail|ToCrlf|Base64|MultipartSigned|Pkcs7Mime|InputDigest|signet::cms::Mime|signet::cms::.*Canonical')),
    ('CMS building/parsing', re.compile(r'signet::cms::|^CMS_|signet::DerOf<CMS')),
    ('gRPC and protobuf (user space + their syscalls)', re.compile(r'^grpc|grpc::|grpc_|^gpr_|google::protobuf')),
    ('thread handoff (work queue wait/wake)', re.compile(r'signet::server::WorkQueue')),
    ('server plumbing (Signet: calls, admission, logs)', re.compile(r'signet::')),
]
def category(frames):
    if any('libsofthsm2' in d for s, d in frames): return 'token: SoftHSM itself (PKCS#11 work)'
    if frames and ALLOC.match(frames[0][0]): return 'allocation (malloc/free)'
    for sym, dso in frames:
        if re.search(r'libgrpc|libgpr|libprotobuf', dso): return 'gRPC and protobuf (user space + their syscalls)'
        for name, rule in RULES:
            if rule.search(sym): return name
    if frames and frames[0][1].startswith('[kernel'): return 'kernel, unowned (scheduler, interrupts)'
    return 'other'
counts = collections.Counter(); total = 0; frames = []
line_re = re.compile(r'^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)$')
def flush():
    global frames, total
    if frames: counts[category(frames)] += 1; total += 1
    frames = []
for line in sys.stdin:
    if not line.strip() or not line.startswith((' ', '\t')): flush(); continue
    m = line_re.match(line.rstrip('\n'))
    if m: frames.append((re.sub(r'\+0x[0-9a-f]+$', '', m.group(1)), m.group(2)))
flush()
per_call = float(sys.argv[1]) if len(sys.argv) > 1 else None
for cat, n in counts.most_common():
    extra = f'  ~{per_call * n / total:5.0f} us/call' if per_call else ''
    print(f'{100.0 * n / total:5.1f}%  {cat}{extra}')
print(f'samples {total}')
