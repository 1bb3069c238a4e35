from rest_framework import serializers

from .models import Ticket


class TicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = ["id", "customer", "subject", "body", "created_at"]
        read_only_fields = ["customer", "created_at"]
