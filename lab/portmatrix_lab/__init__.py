"""portmatrix.xenserver test lab: the estate in network namespaces, driven from Python or lab/labctl."""

from .estate import DEFAULT_ESTATE, EstateError, load_estate
from .lab import Lab
from .probe import flows_from_file, table
from .system import LabError

__all__ = ['DEFAULT_ESTATE', 'EstateError', 'Lab', 'LabError', 'flows_from_file', 'load_estate', 'table']
