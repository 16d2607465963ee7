"""The demo's judge: its model through ``daytwo.llm``, held to each verdict's shape on llama.cpp.

llama-cpp-python's server turns a JSON Schema sent as ``response_format =
{"type": "json_object", "schema": ...}`` into a grammar, so the model can
only write JSON of the verdict's shape. SmolLM2-135M needs that: asked for
any JSON object, it wrote objects without the verdict's fields and gave no
1-5 rating in three tries (22 minutes on two busy cores); held to the schema,
it gave answer relevance, context precision and faithfulness for the same case
in 105 s. Other servers get ``daytwo.llm``'s usual request.
"""

from types import TracebackType
from typing import Any, TypeVar

from pydantic import BaseModel

from daytwo.llm import Completion, LlmClient, Messages

M = TypeVar("M", bound=BaseModel)

# A CPU model on busy cores can take minutes per verdict: wait as long as the
# openai client does (600 s), since a retry after a timeout only queues the
# same work again behind the request the server is still computing.
TIMEOUT = 600.0


class Judge:
    """The metrics' judge client; ``schema_grammar`` holds replies to the schema (llama.cpp)."""

    def __init__(
        self, model: str, *, base_url: str, api_key: str, schema_grammar: bool = False
    ) -> None:
        self.schema_grammar = schema_grammar
        self.client = LlmClient(
            model,
            base_url=base_url,
            api_key=api_key,
            max_concurrency=1,
            timeout=TIMEOUT,
            # The schema goes in response_format below, so the client must not add its own.
            json_mode="none" if schema_grammar else "json_object",
        )

    async def acomplete_json(
        self,
        messages: Messages,
        schema: type[M],
        *,
        max_reasks: int | None = None,
        purpose: str | None = None,
        **parameters: Any,
    ) -> Completion[M]:
        """Return the model's reply parsed into ``schema``, decoded under its grammar if asked."""
        if self.schema_grammar:
            parameters["response_format"] = {
                "type": "json_object",
                "schema": schema.model_json_schema(),
            }
        return await self.client.acomplete_json(
            messages, schema, max_reasks=max_reasks, purpose=purpose, **parameters
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Judge":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
