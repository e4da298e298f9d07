"""Sharing a trained agent: exported as a Hugging Face model repository's folder, sent to the Hub and fetched back.

``export.py`` writes the folder (its weights and config in ``runs/agent_folder.py``'s format, the
evaluation, a replay and ``model_card.py``'s README.md); ``hub.py`` uploads one and fetches
``hf://USER/NAME`` into the Hugging Face cache; ``upload_gym.py`` does both for a results folder.
"""
