#!/usr/bin/env bash
# npm audit of the production dependencies (`npm audit --omit=dev --audit-level=high`):
# prints the count of advisories by severity and exits 1 when any is high or critical.
#
# Usage: scripts/npm-audit.sh
#
# When the registry's advisory endpoint cannot be reached (some networks and registry
# mirrors refuse its POST), nothing was checked: this says so loudly and exits 0, or 1
# with CALLSTREAM_AUDIT_REQUIRED=1. A finding always fails.
set -uo pipefail
cd "$(dirname "$0")/.."

report="$(npm audit --omit=dev --audit-level=high --json 2>/dev/null)"

printf '%s' "$report" | node -e '
  let text = "";
  process.stdin.on("data", (c) => (text += c)).on("end", () => {
    let r;
    try { r = JSON.parse(text); } catch { r = {}; }
    const counts = r.metadata && r.metadata.vulnerabilities;
    if (!counts) {
      const why = r.message || (r.error && r.error.summary) || "no report";
      console.log(`npm audit: NOT CHECKED, the advisory endpoint did not answer (${why})`);
      process.exit(process.env.CALLSTREAM_AUDIT_REQUIRED === "1" ? 1 : 0);
    }
    const order = ["critical", "high", "moderate", "low", "info"];
    console.log("npm audit (production dependencies): " + order.map((s) => `${counts[s] || 0} ${s}`).join(", "));
    for (const [name, v] of Object.entries(r.vulnerabilities || {})) {
      if (v.severity !== "high" && v.severity !== "critical") continue;
      const titles = (v.via || []).filter((x) => typeof x === "object").map((x) => `${x.title} (${x.url})`);
      console.log(`  ${v.severity}: ${name} ${v.range} ${titles.join("; ") || "via " + (v.via || []).join(", ")}${v.fixAvailable ? "" : " [no fix available]"}`);
    }
    process.exit((counts.high || 0) + (counts.critical || 0) > 0 ? 2 : 0);
  });
'
verdict=$?
if [ "$verdict" -eq 2 ]; then
  echo "npm audit: high or critical advisories in production dependencies"
  exit 1
fi
exit "$verdict"
