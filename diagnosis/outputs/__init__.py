"""What the diagnosis writes: French wording for people, machine files of the CLI contract.

:mod:`~diagnosis.outputs.labels` holds every French label and table format;
:mod:`~diagnosis.outputs.export` writes the CSV files, workbooks and layers.
Nothing below imports this layer.
"""
