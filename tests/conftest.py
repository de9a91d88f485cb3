"""Every test runs with the environment the template gives the functions (as the local
stack names the tables and bucket): ecm.settings has no defaults for them."""

from devstack.environment import use_local_environment

use_local_environment()
