#include "tests/bench/bench_results.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace signet::bench {
namespace {

std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Number(double value) { return absl::StrFormat("%.6g", value); }

std::string ToJson(const Point& p) {
  std::string calls;
  for (const auto& [function, count] : p.pkcs11_calls_per_request) {
    absl::StrAppend(&calls, calls.empty() ? "" : ", ", Quoted(function), ": ", Number(count));
  }
  std::string extra;
  for (const auto& [name, value] : p.extra) {
    absl::StrAppend(&extra, extra.empty() ? "" : ", ", Quoted(name), ": ", Number(value));
  }
  const LoadResult& l = p.load;
  return absl::StrCat(
      "    {\"impl\": ", Quoted(p.impl), ", \"transport\": ", Quoted(p.transport),
      ", \"op\": ", Quoted(p.op), ", \"algorithm\": ", Quoted(p.algorithm),
      ", \"token\": ", Quoted(p.token), ", \"mail_bytes\": ", p.mail_bytes,
      ", \"concurrency\": ", p.concurrency,
      ", \"target_per_second\": ", Number(p.target_per_second),
      ",\n     \"requests\": ", l.requests, ", \"errors\": ", l.errors,
      ", \"first_error\": ", Quoted(l.first_error), ", \"seconds\": ", Number(l.seconds),
      ", \"per_second\": ", Number(l.per_second()),
      ",\n     \"p50_us\": ", Number(l.latency.PercentileMicros(0.5)),
      ", \"p90_us\": ", Number(l.latency.PercentileMicros(0.9)),
      ", \"p99_us\": ", Number(l.latency.PercentileMicros(0.99)),
      ", \"p999_us\": ", Number(l.latency.PercentileMicros(0.999)),
      ", \"max_us\": ", Number(l.latency.MaxMicros()),
      ",\n     \"server_cpu_seconds_per_1000\": ", Number(p.server_cpu_seconds_per_1000),
      ", \"server_peak_rss_kib\": ", p.server_peak_rss_kib, ", \"pkcs11_calls_per_request\": {",
      calls, "}, \"extra\": {", extra, "}}");
}

}  // namespace

void BenchResults::Add(Point point) {
  const LoadResult& l = point.load;
  std::fprintf(stderr,
               "bench: %-11s %-19s %-11s %-8s %-10s %7zu B c=%-3d %9.1f/s p50 %8.0f us p99 %8.0f "
               "us errors %llu %s\n",
               point.impl.c_str(), point.transport.c_str(), point.op.c_str(),
               point.algorithm.c_str(), point.token.c_str(), point.mail_bytes, point.concurrency,
               l.per_second(), l.latency.PercentileMicros(0.5), l.latency.PercentileMicros(0.99),
               static_cast<unsigned long long>(l.errors), l.first_error.substr(0, 120).c_str());
  points_.push_back(std::move(point));
}

absl::Status BenchResults::Write(const std::string& path) const {
  std::string json = "{\n  \"settings\": {";
  bool first = true;
  for (const auto& [name, value] : settings_) {
    absl::StrAppend(&json, first ? "" : ", ", Quoted(name), ": ", Number(value));
    first = false;
  }
  json += "},\n  \"points\": [\n";
  for (size_t i = 0; i < points_.size(); ++i) {
    absl::StrAppend(&json, ToJson(points_[i]), i + 1 < points_.size() ? ",\n" : "\n");
  }
  json += "  ],\n  \"targets\": [\n";
  for (size_t i = 0; i < targets_.size(); ++i) {
    const TargetRow& t = targets_[i];
    absl::StrAppend(&json, "    {\"measure\": ", Quoted(t.measure),
                    ", \"target\": ", Quoted(t.target), ", \"measured\": ", Quoted(t.measured),
                    ", \"value\": ", Number(t.value), ", \"unit\": ", Quoted(t.unit),
                    ", \"met\": ", t.met < 0 ? "null" : (t.met ? "true" : "false"), "}",
                    i + 1 < targets_.size() ? ",\n" : "\n");
  }
  json += "  ]\n}\n";
  std::ofstream file(path);
  file << json;
  if (!file) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace signet::bench
