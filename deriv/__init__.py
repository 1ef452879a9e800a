"""deriv: check every step of a mathematical derivation -- prove, sample, or refute it."""
from .checks import ExperimentResult, check, check_experiment, check_limit
from .diagnose import diagnose
from .model import Derivation, Step
from .verdict import Status, Verdict

__version__ = "0.1.0"
__all__ = ["check", "check_limit", "check_experiment", "diagnose", "ExperimentResult", "Derivation", "Step", "Status", "Verdict",
           "__version__"]
