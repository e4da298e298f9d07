"""An agent on the Hugging Face Hub, ``hf://USER/NAME``, fetched to be loaded as a snapshot (``checkpoint.py``).

A fetched agent lies in the Hugging Face cache (``HF_HOME``, ``HF_HUB_CACHE``) as
``huggingface_hub`` keeps every download: fetched once, then read from there, offline too
(``HF_HUB_OFFLINE=1``).  Only the files that play it are fetched: its weights and config.
"""

from pathlib import Path

import httpx2
from huggingface_hub import is_offline_mode, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError
from huggingface_hub.utils import validate_repo_id

from simple_dqn import __version__
from simple_dqn.errors import UsageError, first_line
from simple_dqn.runs.agent_folder import CONFIG_FILE, HUB_PREFIX, MODEL_FILE

LIBRARY = "simple_dqn"
NETWORK_ERRORS = (httpx2.HTTPError, OSError)


def check_repo_id(repo_id: str, given: str = "") -> None:
    """A model repository's id as the Hub spells it, with its owner: USER/NAME; ``given``: how the user gave it."""
    given = given or f"--repo_id {repo_id}"
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise UsageError(f"{given}: {first_line(error)}") from None
    if repo_id.count("/") != 1:
        raise UsageError(f"{given}: name the owner and the repository, USER/NAME")


def download(name: str) -> Path:
    """The folder in the Hugging Face cache that holds the agent ``hf://USER/NAME``, fetched unless it is there."""
    repo_id = name.removeprefix(HUB_PREFIX)
    check_repo_id(repo_id, name)
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=[MODEL_FILE, CONFIG_FILE],
                                        library_name=LIBRARY, library_version=__version__))
    except RepositoryNotFoundError:
        raise UsageError(f"{name}: the Hub has no model repository {repo_id}, or it is private and the token (HF_TOKEN "
                         "or hf auth login) may not read it") from None
    except LocalEntryNotFoundError:
        offline = "HF_HUB_OFFLINE is set" if is_offline_mode() else "the Hub cannot be reached"
        raise UsageError(f"{name} is not in the Hugging Face cache and {offline}: fetch it once online") from None
    except HfHubHTTPError as error:
        raise UsageError(f"{name}: the Hub answered {first_line(error)}") from None
    except NETWORK_ERRORS as error:
        raise UsageError(f"{name}: fetching it failed: {first_line(error)}") from None
    if not (folder / CONFIG_FILE).is_file():
        raise UsageError(f"{name} holds no {CONFIG_FILE}: it is not an agent that simple_dqn exported")
    return folder
