"""Frameworks that people build on Bedrock, unchanged, against Mantle: LangChain (`langchain-aws`),
LlamaIndex (`llama-index-llms-bedrock-converse`) and Strands Agents. Each gets the parameters the
README's "Frameworks" section gives, and is checked on a real answer from the real model."""

import math

import pytest

TEXT = "hf.smollm2-135m-instruct-v1:0"
EMBED = "hf.all-minilm-l6-v2-v1:0"
# LlamaIndex refuses model ids it does not know; the session server maps this one (conftest).
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
QUESTION = "What is the capital of France?"


# --- LangChain -------------------------------------------------------------------------------


def langchain_chat(runtime, **kwargs):
    from langchain_aws import ChatBedrockConverse

    # langchain-aws turns streaming and forced tool choice on only for providers and model ids
    # it knows; for a local model id they are said explicitly.
    return ChatBedrockConverse(
        model=TEXT,
        provider="meta",
        client=runtime,
        temperature=0,
        max_tokens=32,
        disable_streaming=False,
        supports_tool_choice_values=("auto", "any", "tool"),
        **kwargs,
    )


def test_langchain_chat_invoke_and_stream(runtime):
    chat = langchain_chat(runtime)
    answer = chat.invoke(QUESTION)
    assert "Paris" in answer.content
    assert answer.usage_metadata["output_tokens"] > 0
    streamed = "".join(chunk.text for chunk in chat.stream(QUESTION))
    assert streamed == answer.content


def test_langchain_forced_tool_call(runtime):
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return f"sunny in {city}"

    chat = langchain_chat(runtime).bind_tools([get_weather], tool_choice="get_weather")
    message = chat.invoke("What is the weather in Paris?")
    assert [call["name"] for call in message.tool_calls] == ["get_weather"]
    city = message.tool_calls[0]["args"]["city"]
    assert isinstance(city, str) and "paris" in city.lower()
    assert get_weather.invoke(message.tool_calls[0]["args"]).startswith("sunny in")


def test_langchain_embeddings(runtime):
    from langchain_aws import BedrockEmbeddings

    # MiniLM takes a Titan-style body, which langchain-aws sends for provider "amazon".
    embeddings = BedrockEmbeddings(model_id=EMBED, provider="amazon", client=runtime)
    query = embeddings.embed_query("Where is the Eiffel Tower?")
    docs = embeddings.embed_documents(["The Eiffel Tower is in Paris.", "Bananas are rich in potassium."])
    assert len(query) == 384 and len(docs) == 2
    assert math.isclose(math.fsum(x * x for x in query), 1.0, rel_tol=1e-3)
    similarity = [math.fsum(q * d for q, d in zip(query, doc)) for doc in docs]
    assert similarity[0] > similarity[1] + 0.2


# --- LlamaIndex ------------------------------------------------------------------------------


def test_llamaindex_bedrock_converse(runtime):
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.bedrock_converse import BedrockConverse

    llm = BedrockConverse(model=HAIKU, client=runtime, temperature=0, max_tokens=32)
    completion = llm.complete(QUESTION)
    assert "Paris" in completion.text
    chat = llm.chat([ChatMessage(role="user", content=QUESTION)])
    assert chat.message.content == completion.text
    streamed = "".join(delta.delta for delta in llm.stream_complete(QUESTION))
    assert streamed == completion.text


# --- Strands Agents --------------------------------------------------------------------------


def strands_model(server, **kwargs):
    import boto3
    from botocore.config import Config
    from strands.models import BedrockModel

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    return BedrockModel(
        model_id=TEXT,
        boto_session=session,
        endpoint_url=server.url,
        boto_client_config=Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 1}),
        temperature=0,
        max_tokens=48,
        **kwargs,
    )


def test_strands_agent_answers(server):
    from strands import Agent

    agent = Agent(model=strands_model(server), callback_handler=None)
    result = agent(QUESTION)
    assert "Paris" in str(result)
    assert result.stop_reason == "end_turn" or result.stop_reason == "max_tokens"


def test_strands_agent_tool_and_structured_output(server):
    from pydantic import BaseModel
    from strands import Agent, tool

    @tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return f"sunny in {city}"

    class City(BaseModel):
        """A city and its country."""

        city: str
        country: str

    agent = Agent(model=strands_model(server), tools=[get_weather], callback_handler=None)
    # Calling the tool through the agent records the call and its result in the conversation.
    assert agent.tool.get_weather(city="Paris")["content"][0]["text"] == "sunny in Paris"
    # Structured output is a forced tool call (Converse toolChoice) whose input fits the schema.
    agent = Agent(model=strands_model(server), callback_handler=None)
    result = agent("Paris is the capital of which country? Give the city and the country.", structured_output_model=City)
    answer = result.structured_output
    assert isinstance(answer, City)
    assert answer.city == "Paris" and "France" in answer.country
