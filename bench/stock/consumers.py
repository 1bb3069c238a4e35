from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class StreamConsumer(AsyncJsonWebsocketConsumer):
    """Joins the agents' group, and ``user.<id>`` when the query string says ``?user=<id>``,
    and forwards what those groups receive: stock channels-redis group fan-out."""

    async def connect(self) -> None:
        user = parse_qs(self.scope["query_string"].decode()).get("user", [""])[0]
        self.joined = ["agents"] + ([f"user.{user}"] if user.isdigit() else [])
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def ticket_created(self, message: dict) -> None:
        await self.send_json(message["ticket"])
