"""A synthetic inventory of realistic shape, for benchmarks and scale tests (SPEC §5 `synth`).

`synthesize(out_dir, flows, seed)` writes a fictitious multinational group ("Norda Group SE",
established in DE) as the teams of a real organisation would keep it: central
`organisations.yaml`, `subjects.yaml`, `elements.yaml`, `purposes.yaml`, `waivers.yaml`, and
`teams/team-NNN.yaml` each holding one team's systems and the flows of its processing
activities (about 750 flows a file). Roughly one purpose per 100 flows and one system per 20.

The shape follows what a privacy office sees: most processing stays in the EEA, a minority of
flows leave it (to US processors, the CN and IN affiliates, ad networks...) under a mix of
safeguards, and a small share of everything is wrong on purpose so that every rule of the
catalogue has something to find (missing DPAs, stale TIAs, 2010 SCCs, wrong modules, Art. 49
derogations used continuously, unlisted sub-processors, purposes without retention...).

Output is deterministic: one `random.Random(seed)`, no set iteration over strings, fixed dates
(never "today"), so the same (flows, seed) gives byte-identical files. The YAML is written as
text (block mappings, flow-style lists) because `yaml.dump` is far too slow at 100,000 flows.
No element flows in a cycle (the validator refuses that): systems have a global rank (tier,
then index) and ordinary flows only go up it; the few flows that go back down (and so make the
graph cyclic, as real enrichment loops do) carry only derived scores that never go up.
"""

from flowaudit.synth.generator import synthesize

__all__ = ["synthesize"]
