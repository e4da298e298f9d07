"""The Hugging Face Hub: an exported agent sent to a model repository (fetched back by ``runs/hub_agents.py``).

Uploading takes the token ``huggingface_hub`` finds (``HF_TOKEN``, or ``hf auth login``'s).

``python -m simple_dqn.sharing.hub download hf://USER/NAME`` prints the folder it is cached in
(what the scripts that take a snapshot do with such a name); ``upload FOLDER --repo_id USER/NAME
[--dry_run] [--private]`` is upload.sh.
"""

import sys
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi, get_token, is_offline_mode
from huggingface_hub.errors import HfHubHTTPError

from simple_dqn import __version__
from simple_dqn.errors import UsageError, exit_code_of, first_line
from simple_dqn.files import write_atomically
from simple_dqn.option import OptionParser
from simple_dqn.runs.agent_folder import CONFIG_FILE, HUB_PREFIX, read_agent_folder
from simple_dqn.runs.hub_agents import LIBRARY, NETWORK_ERRORS, check_repo_id, download
from simple_dqn.sharing.model_card import name_repository, names_placeholder

CARD_FILE = "README.md"
UPLOAD_USAGE = "./upload.sh FOLDER --repo_id USER/NAME [--dry_run] [--private]"


def files_to_send(folder: Path) -> list[str]:
    """Every file in ``folder`` but hidden ones, as paths in the repository, in order."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                  if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts))


def upload(folder: Path, repo_id: str, *, dry_run: bool, private: bool) -> list[str]:
    """Send the export in ``folder`` to the model repository ``repo_id``, made if it is not there; what to say.

    A card written before the repository had a name (``hf://USER/NAME``) is given ``repo_id`` first.
    """
    check_repo_id(repo_id)
    if not (folder / CONFIG_FILE).is_file():
        raise UsageError(f"{folder} is not an exported agent's folder: it has no {CONFIG_FILE} (./export.sh SNAPSHOT "
                         "writes one to upload)")
    agent = read_agent_folder(folder)
    files = files_to_send(folder)
    card = folder / CARD_FILE
    naming = card.is_file() and names_placeholder(card.read_text())
    sizes = {name: (folder / name).stat().st_size for name in files}
    listing = [f"  {name} ({_size(sizes[name])})" for name in files]
    total = f"{len(files)} files, {_size(sum(sizes.values()))},"
    if dry_run:
        named = [f"{CARD_FILE} would name hf://{repo_id} in place of hf://USER/NAME"] if naming else []
        return [f"dry run, nothing sent: would send {total} to {repo_id}:", *listing, *named]
    if is_offline_mode():
        raise UsageError("HF_HUB_OFFLINE is set: nothing can be sent to the Hub (--dry_run lists what would be)")
    token = get_token()
    if not token:
        raise UsageError("no Hugging Face token: set HF_TOKEN, or log in with hf auth login")
    if naming:
        text = name_repository(card.read_text(), repo_id)
        write_atomically(card, lambda file: file.write(text.encode()))
    api = HfApi(token=token, library_name=LIBRARY, library_version=__version__)
    try:
        url = api.create_repo(repo_id, exist_ok=True, private=private)
        api.create_commit(repo_id, [CommitOperationAdd(path_in_repo=name, path_or_fileobj=folder / name)
                                    for name in files],
                          commit_message=f"{agent.game} agent of epoch {agent.epoch}, exported by {LIBRARY} "
                                         f"{__version__}")
    except HfHubHTTPError as error:
        raise UsageError(f"the Hub refused the upload to {repo_id}: {first_line(error)}") from None
    except NETWORK_ERRORS as error:
        raise UsageError(f"cannot reach the Hub: {first_line(error)}") from None
    return [f"sent {total} to {url}:", *listing, f"play it: ./play.sh hf://{repo_id}"]


def _size(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def main(arguments: list[str]) -> int:
    def answer() -> int:
        if arguments[:1] == ["download"] and len(arguments) == 2 and arguments[1].startswith(HUB_PREFIX):
            print(download(arguments[1]))
            return 0
        if arguments[:1] != ["upload"]:
            raise UsageError("usage: python -m simple_dqn.sharing.hub download hf://USER/NAME | upload FOLDER "
                             "--repo_id USER/NAME [--dry_run] [--private]")
        parser = OptionParser(prog="./upload.sh", usage=UPLOAD_USAGE,
                              description="Send an exported agent to a Hugging Face Hub model repository.")
        parser.add_argument("folder", metavar="FOLDER", help="A folder that ./export.sh wrote.")
        parser.add_argument("--repo_id", required=True, metavar="USER/NAME", help="The model repository, made if new.")
        parser.add_argument("--dry_run", action="store_true", help="List the files it would send, and send nothing.")
        parser.add_argument("--private", action="store_true", help="Make the repository private if it is new.")
        given = parser.parse_args(arguments[1:])
        print("\n".join(upload(Path(given.folder), given.repo_id, dry_run=given.dry_run, private=given.private)))
        return 0
    return exit_code_of(answer, "stopped")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
