"""The paper's audits, in one home: the analyses on arrays (labels, seismic parameters, RC/RGB, ages,
ablations, [α/M] leakage, baselines, envelopes), their run on a workspace, and the information ladder."""
