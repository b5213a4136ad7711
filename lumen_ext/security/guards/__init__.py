"""The security guards: each is the factory of one replacement the hooks table installs (group ``security``), one
module per kind of vector (LUMEN-NOTES §5)."""
