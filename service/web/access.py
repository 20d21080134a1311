"""The keys the web app's JSON routes accept: ``AnyKey`` (every role may search, so any valid
key) and ``AdminKey`` (the logs: admin only, 403 otherwise)."""

from typing import Annotated

from fastapi import Depends

from service.access import Action
from service.deps import require
from service.keys import ApiKey

AnyKey = Annotated[ApiKey, Depends(require(Action.search))]
AdminKey = Annotated[ApiKey, Depends(require(Action.logs))]
