from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.jobs import ship_order
from orders.models import Order


@csrf_exempt
@require_POST
def create_order(request: HttpRequest) -> JsonResponse:
    with transaction.atomic():
        order = Order.objects.create(email=request.POST["email"])
        job = ship_order.enqueue(order.id)  # in this transaction
        if request.POST.get("fail"):  # e.g. the payment was refused after all
            raise RuntimeError("payment refused")
    return JsonResponse({"order": order.id, "job": job.id}, status=201)
