// OS version comparison (issue 15). The reference system left devices stuck in maintenance
// because the version a device reported ("JUNOS 21.4R3-S5.4", " 8.5.0\n") never equalled the
// image's string. We normalise both sides the same deliberate way, and nothing more:
//   1. trim surrounding whitespace;
//   2. several words ("FRRouting 8.5.0 (leaf1)", "JUNOS 21.4R3-S5.4"): keep the first word that
//      starts with a digit (the version token; names and build hosts around it are dropped);
//   3. a leading "v"/"V" right before a digit goes ("v8.5.0" -> "8.5.0");
//   4. lower case ("21.4R3" == "21.4r3": Junos prints both).
// Everything else must match exactly: "8.5" is NOT "8.5.0", and "21.4R3-S5" is not
// "21.4R3-S5.4" (a different build is a different OS; padding or truncating would hide one).
export function normalizeVersion(raw: string | null | undefined): string {
  if (raw === null || raw === undefined) return '';
  let s = raw.trim();
  const words = s.split(/\s+/);
  if (words.length > 1) s = words.find((w) => /^[vV]?\d/.test(w)) ?? s;
  if (/^[vV]\d/.test(s)) s = s.slice(1);
  return s.toLowerCase();
}

/** True when the reported version is the expected one under normalizeVersion. */
export function sameVersion(reported: string | null | undefined, expected: string | null | undefined): boolean {
  const a = normalizeVersion(reported);
  return a !== '' && a === normalizeVersion(expected);
}

/** The fabric's target version for a node profile (settings.osVersions), looked up safely. */
export function targetVersion(osVersions: Record<string, string> | undefined, profile: string | null | undefined): string | undefined {
  if (!osVersions || !profile || !Object.hasOwn(osVersions, profile)) return undefined;
  return osVersions[profile];
}
